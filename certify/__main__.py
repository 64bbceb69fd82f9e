"""`python -m certify` and the `certify` command."""

import gc

# Before the imports: loading Typer, pydantic and the models makes some 50,000 objects, and at
# the default pace (a pass every 700) the cyclic collector walks them seventy times over, a
# twentieth of a cron tick. `main` keeps this pace for the command itself.
gc.set_threshold(50_000, 20, 20)

from certify.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
