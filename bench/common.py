"""What every suite shares: whole processes timed, interleaved rounds, medians and ratios,
the floors' scripts, and the inputs made once and cached under bench/data/."""

from __future__ import annotations

import io
import json
import os
import pstats
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
COURSES_AT_1X = 10_000
# the moment of every run-due measure: every course of the export has ended and is due
NOW = "2027-01-15T12:00"
IMPORTED_AT = "2027-01-15T08:00"


class Broken(Exception):
    """A measured process failed or did not do its whole work: its time means nothing."""


class FloorsMissing(Broken):
    """The shared floors are not where CERTIFY_FLOORS (or the default) says."""


def floors() -> Path:
    """The folder of the shared floor scripts: $CERTIFY_FLOORS, else ../shared/floors."""
    configured = os.environ.get("CERTIFY_FLOORS")
    folder = Path(configured) if configured else ROOT.parent / "shared" / "floors"
    needed = ["gen_data.py", "import_floor.py", "eval_floor.py", "render_floor.py"]
    missing = [name for name in needed if not (folder / name).is_file()]
    if not (folder / "perf_world" / "actions.yaml").is_file():
        missing.append("perf_world/actions.yaml")
    if missing:
        source = "CERTIFY_FLOORS" if configured else "the default (no CERTIFY_FLOORS set)"
        raise FloorsMissing(
            f"the shared floors are not at {folder} ({source}): missing {', '.join(missing)}; "
            "set CERTIFY_FLOORS to the folder that holds import_floor.py"
        )
    return folder


def perf_actions() -> Path:
    """The floors' actions.yaml for the dry-run and writing measures (`since: 2024-01-01`)."""
    return floors() / "perf_world" / "actions.yaml"


# -- whole processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    """One finished process: wall time, CPU time (user + system), peak RSS, its output."""

    command: list[str]
    wall: float
    cpu: float
    rss_mib: float
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The standard output read as JSON, or Broken naming the command."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise Broken(
                f"{self.command[:4]}...: output is not JSON: {self.stdout[:200]!r}"
            ) from None


def child_env() -> dict[str, str]:
    """The environment without CERTIFY_* settings, so a developer's shell cannot steer a run;
    in English, whatever locale the shipped actions.yaml sets, as the suites read the output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTIFY_")}
    return {**env, "CERTIFY_LANG": "en"}


def run_process(command: list[str], *, cwd: Path | None = None) -> Proc:
    """Run `command` to the end: its wall time, and the CPU time and peak RSS of that child
    alone (its own rusage from wait4, what a RUSAGE_CHILDREN delta gives for one child).

    bench/launch.py starts and times it, so that its peak RSS does not start from this
    process's (see there); the launcher's own start-up is not in the figures.
    """
    launcher = [sys.executable, "-I", "-S", str(ROOT / "bench" / "launch.py")]
    with tempfile.TemporaryDirectory() as folder:
        figures_file = Path(folder) / "figures.json"
        with (Path(folder) / "out").open("w+b") as out, (Path(folder) / "err").open("w+b") as err:
            launched = subprocess.run(
                [*launcher, str(figures_file), *command],
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=child_env(),
            )
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if launched.returncode != 0 or not figures_file.exists():
            raise Broken(f"could not run {command[0]}: {stderr.decode(errors='replace')[-300:]}")
        figures = json.loads(figures_file.read_text())
    return Proc(
        command,
        figures["wall"],
        figures["cpu"],
        figures["rss_mib"],
        figures["code"],
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
    )


def python(*args: str | Path) -> list[str]:
    """A command line run by this interpreter."""
    return [sys.executable, *map(str, args)]


def certify(*args: str | Path) -> list[str]:
    """`python -m certify ARGS`: the command line, never the package's insides."""
    return python("-m", "certify", *args)


def floor_script(name: str, *args: str | Path) -> list[str]:
    """One of the shared floor scripts, run where it is."""
    return python(floors() / name, *args)


# -- measuring ---------------------------------------------------------------------------------


@dataclass
class Side:
    """One contestant of a measure: `command` prepares a fresh state and returns the command
    line; `check` raises Broken when the process did not do its whole work, and may return a
    short note for the round's line (such as the number of connections)."""

    label: str
    command: Callable[[], list[str]]
    check: Callable[[Proc], str | None] = lambda proc: None


def measure(sides: list[Side], repeat: int) -> dict[str, list[Proc]]:
    """Run the sides in turn, `repeat` rounds (floor, subject, floor, subject, ...), so that
    all of them see the same noise on a shared machine; print every round's figures."""
    runs: dict[str, list[Proc]] = {side.label: [] for side in sides}
    for round_number in range(1, repeat + 1):
        figures = []
        for side in sides:
            command = side.command()
            if round_number == 1:  # to run one by hand (after the same preparation)
                print(f"     {side.label}$ {shlex.join(command)}", flush=True)
            proc = run_process(command)
            if proc.code != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                raise Broken(f"{side.label} exited {proc.code}: {' | '.join(tail)}")
            note = side.check(proc)
            runs[side.label].append(proc)
            figures.append(
                f"{side.label} {proc.wall:.3f} s (cpu {proc.cpu:.3f} s, {proc.rss_mib:.0f} MiB"
                f"{', ' + note if note else ''})"
            )
        print(f"     round {round_number}: " + "; ".join(figures), flush=True)
    return runs


@dataclass
class Result:
    name: str
    subject: float  # median seconds (or a rate, see unit)
    floor: float
    unit: str
    target: str
    ok: bool
    note: str = ""
    subject_cpu: float | None = None
    floor_cpu: float | None = None
    rounds: list[dict[str, float]] = field(default_factory=list)
    # the subject's command on fresh inputs, for --profile; not part of the JSON
    profile: Side | None = field(default=None, repr=False, compare=False)
    kind: str = "ratio"  # or "count": `subject` is a count against a target, no floor

    @property
    def ratio(self) -> float:
        return self.subject / self.floor if self.floor else float("inf")

    def as_json(self) -> dict[str, Any]:
        """Everything but the profile hook, with the ratio."""
        figures = {k: v for k, v in vars(self).items() if k != "profile"}
        return {**figures, "ratio": self.ratio if self.kind == "ratio" else None}


def ratio_result(
    name: str,
    runs: dict[str, list[Proc]],
    subject: str,
    floor: str,
    limit: float,
    *,
    profile: Side | None = None,
    note: str = "",
) -> Result:
    """Medians of wall and CPU time of `subject` against `floor`; met when wall ratio <= limit."""
    wall = median([p.wall for p in runs[subject]])
    floor_wall = median([p.wall for p in runs[floor]])
    cpu = median([p.cpu for p in runs[subject]])
    floor_cpu = median([p.cpu for p in runs[floor]])
    cpu_note = f"cpu {cpu:.2f} s vs {floor_cpu:.2f} s = {cpu / floor_cpu:.2f}x" if floor_cpu else ""
    return Result(
        name,
        wall,
        floor_wall,
        "s",
        f"<= {limit}x {floor}",
        wall / floor_wall <= limit,
        "; ".join(n for n in (cpu_note, note) if n),
        cpu,
        floor_cpu,
        rounds_of(runs),
        profile,
    )


def rounds_of(runs: dict[str, list[Proc]]) -> list[dict[str, float]]:
    """Each round's raw figures, for --json."""
    labels = list(runs)
    return [
        {
            **{f"{label} wall": runs[label][i].wall for label in labels},
            **{f"{label} cpu": runs[label][i].cpu for label in labels},
        }
        for i in range(len(runs[labels[0]]))
    ]


def broken_result(name: str, error: Broken) -> Result:
    """A measure that could not be taken: reported, and counted as missed."""
    return Result(
        name, float("nan"), float("nan"), "s", "a complete run", False, f"BROKEN: {error}"
    )


def interleaved(
    subject: Callable[[], float], floor: Callable[[], float], repeat: int
) -> tuple[list[float], list[float]]:
    """Alternate the two so that both see the same noise on a shared machine."""
    subjects, floors_ = [], []
    for _ in range(repeat):
        floors_.append(floor())
        subjects.append(subject())
    return subjects, floors_


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def profile(side: Side, top: int = 15) -> str:
    """cProfile of one more run of a `python -m certify ...` side: certify's own functions by
    cumulative time (the CLI wrappers above them say nothing), then everything by self time."""
    command = side.command()
    if command[1:3] != ["-m", "certify"]:
        return f"(not a certify command: {' '.join(command[:3])})"
    with tempfile.TemporaryDirectory() as folder:
        stats_file = Path(folder) / "run.prof"
        proc = run_process([command[0], "-m", "cProfile", "-o", str(stats_file), *command[1:]])
        if not stats_file.exists():
            return f"(the profiled run exited {proc.code}: {proc.stderr[-300:]})"
        parts = [f"{proc.wall:.2f} s under cProfile (exit {proc.code})"]
        for order, restriction, heading in (
            ("cumulative", [r"/certify/(?!cli/app|__main__)", top], "certify's functions"),
            ("tottime", [top], "self time"),
        ):
            buffer = io.StringIO()
            stats = pstats.Stats(str(stats_file), stream=buffer)
            stats.sort_stats(order).print_stats(*restriction)
            lines = buffer.getvalue().strip().splitlines()
            start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
            parts.append(f"by {order}, {heading}:\n" + "\n".join(lines[start:]))
    text = "\n".join(parts).replace(str(ROOT) + "/", "")
    return text.replace(sys.prefix + "/", "").replace(sys.base_prefix + "/", "")


# -- inputs, made once -------------------------------------------------------------------------


def export_dir(scale: int) -> Path:
    """The floors' synthetic export at `scale` x 10,000 courses (gen_data.py), made once."""
    directory = DATA / f"export-x{scale}"
    marker = directory / ".complete"
    if not marker.exists():
        shutil.rmtree(directory, ignore_errors=True)
        print(f"     generating the export at {scale}x into {directory} ...", flush=True)
        command = floor_script("gen_data.py", directory, "--courses", str(COURSES_AT_1X * scale))
        subprocess.run(command, check=True)
        marker.write_text(json.dumps(csv_rows(directory)))
    return directory


def csv_rows(directory: Path) -> dict[str, int]:
    """Data rows per table of an export (gen_data writes no line breaks inside values)."""
    counts = {}
    for path in sorted(directory.glob("*.csv")):
        with path.open("rb") as handle:
            counts[path.stem] = sum(1 for _ in handle) - 1
    return counts


def export_rows(scale: int) -> dict[str, int]:
    """Rows per table of the export at `scale`, as counted when it was made."""
    counts: dict[str, int] = json.loads((export_dir(scale) / ".complete").read_text())
    return counts


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_db(source: Path, target: Path) -> Path:
    """A fresh copy of a closed database (with its WAL, if any)."""
    remove_db(target)
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


def floor_db() -> Path:
    """The floor's own database: import_floor.py of the 1x export, made once."""
    db = DATA / "floor-x1.db"
    if not db.exists():
        partial = DATA / "floor-x1.partial.db"
        remove_db(partial)
        subprocess.run(floor_script("import_floor.py", partial, export_dir(1)), check=True)
        with sqlite3.connect(partial) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        copy_db(partial, db)
        remove_db(partial)
    return db


def switched_on_db() -> Path:
    """certify's own import of the 1x export, switched on (a real run-due that found nothing
    due yet, at 2024-01-01) and with nothing sent: the start of every writing round."""
    db = DATA / "certify-on-x1.db"
    if db.exists():
        return db
    partial = DATA / "certify-on-x1.partial.db"
    remove_db(partial)
    actions = perf_actions()
    options = ["--db", partial, "--actions", actions, "--json"]
    imported = run_process(certify("import", export_dir(1), *options, "--now", IMPORTED_AT))
    if imported.code != 0:
        raise Broken(f"certify import of the export failed: {imported.stderr[-500:]}")
    outbox = ["--transport", "dir", "--out", DATA / "switch-on-outbox"]
    switch_on = run_process(certify("run-due", *options, *outbox, "--now", "2024-01-01T00:00"))
    if switch_on.code != 0 or switch_on.json()["sent"] != 0:
        raise Broken(f"switching on sent something or failed: {switch_on.stdout[-500:]}")
    copy_db(partial, db)
    remove_db(partial)
    return db


def scratch(name: str) -> Path:
    """An empty folder under bench/data/, emptied again if it was left from an earlier run."""
    folder = DATA / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def eml_count(folder: Path) -> int:
    """Finished .eml files in a folder (temporary files do not count)."""
    return sum(1 for name in os.listdir(folder) if name.endswith(".eml"))


def floor_facts() -> dict[str, int]:
    """What the floor database says every judging run must cover."""
    with sqlite3.connect(floor_db()) as conn:
        (enrolled,) = conn.execute(
            "SELECT count(*) FROM enrollments WHERE status = 'enrolled'"
        ).fetchone()
    return {"enrolled": int(enrolled)}


BENCH_ACTIONS = """version: 1
timezone: Europe/Amsterdam
templates_dir: {templates}
sender: "Opleidingsbureau <opleidingen@example.org>"
actions:
  - id: certificate
    name: "Certificate [Opleiding:Naam] - [Persoon:NaamVolledig]"
    email_template: certificate
    timing: {{after: course_end, offset: 1, unit: days, at: "09:00"}}
    since: 2000-01-01
    conditions: {{course_status: final, attendance: {attendance}, pass: {passing}}}
  - id: proof-of-participation
    name: "Proof [Opleiding:Naam] - [Persoon:NaamVolledig]"
    email_template: proof_of_participation
    timing: {{after: course_end, offset: 1, unit: days, at: "09:00"}}
    since: 2000-01-01
    conditions: {{course_status: final, attendance: {attendance}, pass: no}}
"""


def bench_actions(directory: Path, *, attendance: str = "yes", passing: str = "yes") -> Path:
    """An actions.yaml on the shipped templates that covers all history (`since: 2000-01-01`)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "actions.yaml"
    path.write_text(
        BENCH_ACTIONS.format(templates=ROOT / "templates", attendance=attendance, passing=passing)
    )
    return path
