"""The README cannot drift from the command line: every command and option is in its table."""

import re
import subprocess

import pytest
import typer.main

from certify.cli import app
from tests.helpers import ROOT


def _command_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Commands and exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `certify ([a-z-]+)(.*?)` \| ", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def _common_options() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Commands and exit codes", 1)[1].split("\n## ", 1)[0]
    common = next(line for line in section.splitlines() if line.startswith("Common:"))
    return set(re.findall(r"--[a-z-]+", common))


def test_every_command_and_option_is_in_the_readme_table() -> None:
    rows = _command_rows()
    common = _common_options()
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert set(commands) == set(rows), "the README's command table lists other commands"
    for name, command in commands.items():
        for param in command.params:
            if param.param_type_name != "option" or param.name == "help":
                continue
            long = next(opt for opt in param.opts if opt.startswith("--"))
            assert long in rows[name] or long in common, (
                f"certify {name} {long} is not in the README"
            )


def test_no_file_holds_the_markers_of_an_unfinished_merge() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    marked = [
        name
        for name in tracked
        if (ROOT / name).is_file()
        and re.search(rb"^(<{7} |>{7} |={7}$)", (ROOT / name).read_bytes(), re.M)
    ]
    assert not marked


def test_every_command_of_a_group_and_its_options_are_in_the_readme_table() -> None:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Commands and exit codes", 1)[1].split("\n## ", 1)[0]
    common = _common_options()
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for sub_name, sub in getattr(command, "commands", {}).items():
            row = re.search(rf"\| `certify {name} {sub_name}(.*?)` \| ", section)
            assert row, f"certify {name} {sub_name} is not in the README's table"
            for param in sub.params:
                if param.param_type_name != "option" or param.name == "help":
                    continue
                long = next(opt for opt in param.opts if opt.startswith("--"))
                assert long in row.group(1) or long in common, (
                    f"certify {name} {sub_name} {long} is not in the README"
                )
