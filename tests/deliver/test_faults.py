"""Faults injected at random into overlapping real runs: nothing lost, nothing sent twice.

Rounds of several `certify run-due` processes (the real CLI) run against one aiosmtpd
server on 127.0.0.1 whose every answer may be a fault, drawn from the seed per event:
a busy or slow greeting, 451 or a dropped connection or a slow answer at RCPT, 550 for
addresses that bounce, 554 or 451 after the data, silence after the data (the connection
closed instead of the 250, or the 250 too late), a hang-up right after the 250. Runs are
killed with SIGKILL at a random moment, the moment the database shows a delivery `claimed`
or `sending` by the run that holds the lock, or by the server itself at RCPT, at the end of
the data or right after its 250; some are sent SIGTERM. `--now` advances between rounds so
back-offs expire and new deliveries become due. Clean runs against a healthy server then
settle the rest, and the server's log (the truth: every message that reached the end of
its data, whatever was answered) is held against the database and every run's report.

Each round's story is printed with the seed when a check fails; `CERTIFY_FAULTS_SEED=N`
plays another seed. `bench/bench_faults.py` plays the same scenario larger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.helpers import AMS, PROOF_TEMPLATE, import_into, make_config, proof_action, write_export

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("CERTIFY_FAULTS_SEED", "20261106"))
START = datetime(2026, 11, 6, 9, 0)  # local time in the configured zone, like cron's --now
STEP_MINUTES = (3, 12)  # how far --now moves between rounds
TIMEOUT = 1  # smtp.timeout in actions.yaml: silence is found fast
ROUND_DEADLINE = 8.0  # seconds; a run still alive then is killed like the others
Key = tuple[str, str, str]  # (action, course, person)


# -- the mail server ------------------------------------------------------------------------


@dataclass(frozen=True)
class Mood:
    """A round's weather: per stage, the chance of each fault."""

    name: str
    faults: dict[str, dict[str, float]]

    def describe(self) -> str:
        parts = [
            f"{fault}@{stage} {rate:.0%}"
            for stage, rates in self.faults.items()
            for fault, rate in rates.items()
            if rate
        ]
        return f"{self.name}: {', '.join(parts) or 'no faults'}"


HEALTHY = Mood("healthy", {})
# a deck, each mood as often as its weight, shuffled per seed and dealt in turn: every
# mood comes up in any game of at least as many rounds as the deck has cards
MOODS: list[tuple[Mood, int]] = [
    (
        Mood(
            "calm",
            {"rcpt": {"451": 0.04, "drop": 0.02}, "data": {"554": 0.02, "hangup": 0.1}},
        ),
        3,
    ),
    (
        Mood(
            "flaky",
            {
                "connect": {"421": 0.05, "slow": 0.03},
                "rcpt": {"451": 0.12, "drop": 0.05, "slow": 0.04, "garble": 0.03},
                "data": {
                    "554": 0.04,
                    "451": 0.06,
                    "drop": 0.05,
                    "slow": 0.04,
                    "hangup": 0.1,
                    "garble": 0.04,
                },
            },
        ),
        4,
    ),
    (
        Mood(
            "crashy",
            {"rcpt": {"kill": 0.05}, "data": {"kill": 0.08, "kill250": 0.08, "hangup": 0.1}},
        ),
        1,
    ),
    (Mood("silent", {"data": {"drop": 0.3, "slow": 0.1}}), 1),
    (Mood("down", {"connect": {"421": 0.7, "slow": 0.1}}), 1),
    (
        Mood(
            "slow",
            {"connect": {"slow": 0.1}, "rcpt": {"slow": 0.2}, "data": {"slow": 0.15}},
        ),
        1,
    ),
]

# what a message that reached the end of its data may have become
# may be in the mailbox; "garbled": taken, then answered without a reply code
DELIVERED = {"accepted", "hangup", "slow", "dropped", "killed", "garbled"}
SILENT = {"slow", "dropped", "killed"}  # the client may not have heard the 250


@dataclass(frozen=True)
class Copy:
    """One message that reached the end of its data, and what the server did with it."""

    round: int
    key: Key
    message_id: str
    # accepted | hangup | slow | dropped | killed (the client, before the 250) | rejected (554)
    # | deferred (451); "kill250" kills the client right after the 250 and is `accepted`
    disposition: str


@dataclass(frozen=True)
class Refusal:
    """A refusal before the data: a busy greeting, or a 4xx/5xx at RCPT."""

    round: int
    stage: str
    address: str
    code: int


class FaultyServer:
    """An SMTP sink whose answers fail at random; each fault is drawn per event from the
    seed, the round and what the event is about, so that the interleaving of connections
    changes as little as possible of what each message meets."""

    def __init__(self, seed: int, bounce: set[str], lock: Path) -> None:
        self.seed = seed
        self.bounce = bounce
        self.lock = lock  # the run lock: its holder is the client on the line
        self.ours: set[int] = set()  # the runs this game started: the only ones it may kill
        self.round = 0
        self.mood = HEALTHY
        self.copies: list[Copy] = []
        self.refusals: list[Refusal] = []
        self.kills: dict[int, str] = {}  # pid → at which step the server killed it
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def kill_client(self, step: str) -> None:
        """SIGKILL the run on the line, at this very step of its conversation."""
        pid = lock_holder(self.lock)
        if pid in self.ours:
            self.kills[pid] = step
            with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
                os.kill(pid, signal.SIGKILL)

    def fault(self, stage: str, ident: str) -> tuple[str | None, float]:
        """The fault (or None) for the next `stage` event about `ident`, with a delay."""
        with self._lock:
            name = f"{self.round}/{stage}/{ident}"
            self._seen[name] += 1
            rng = random.Random(f"{self.seed}/{name}/{self._seen[name]}")
            rates = self.mood.faults.get(stage, {})
        roll = rng.random()
        delay = rng.uniform(0.3, 1.6)  # about half of the slow answers outlast the timeout
        for fault, rate in rates.items():
            if roll < rate:
                return fault, delay
            roll -= rate
        return None, 0.0

    async def greet(self, server: SMTP) -> bool:
        """Before the greeting: False when the connection is refused as busy."""
        fault, delay = self.fault("connect", "")
        if fault == "421":
            self.refusals.append(Refusal(self.round, "connect", "", 421))
            await server.push("421 4.3.2 Too busy, try again later")
            assert server.transport is not None
            server.transport.close()
            return False
        if fault == "slow":
            await asyncio.sleep(delay)
        return True

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.bounce:
            self.refusals.append(Refusal(self.round, "rcpt", address, 550))
            return "550 5.1.1 No such user"
        fault, delay = self.fault("rcpt", address)
        if fault == "451":
            self.refusals.append(Refusal(self.round, "rcpt", address, 451))
            return "451 4.3.0 Try again later"
        if fault == "drop":
            assert server.transport is not None
            server.transport.close()  # before the data: nothing was handed over
        if fault == "slow":
            await asyncio.sleep(delay)
        if fault == "kill":
            self.kill_client("RCPT (claimed)")
        if fault == "garble":
            # a reply code cut short, then the line goes: nothing was handed over
            assert server.transport is not None
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "25"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        head = BytesHeaderParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        key = (
            str(head["X-Certify-Action"]),
            str(head["X-Certify-Course"]),
            str(head["X-Certify-Person"]),
        )
        message_id = str(head["Message-ID"])
        fault, delay = self.fault("data", message_id)
        disposition = {
            "554": "rejected",
            "451": "deferred",
            "drop": "dropped",
            "kill": "killed",
            "kill250": "accepted",
            "garble": "garbled",
        }.get(fault or "", fault or "accepted")
        self.copies.append(Copy(self.round, key, message_id, disposition))
        if fault == "554":
            return "554 5.6.0 Content rejected"
        if fault == "451":
            return "451 4.3.0 Try again later"
        assert server.transport is not None
        if fault == "drop":
            server.transport.close()  # the whole message came in; the 250 never goes out
        elif fault == "slow":
            await asyncio.sleep(delay)
        elif fault == "hangup":
            # runs right after the 250 is written: the next message finds the line dead
            asyncio.get_running_loop().call_soon(server.transport.close)
        elif fault == "kill":
            self.kill_client("the end of the data, before the 250 (sending)")
        elif fault == "garble":
            return "OK queued as 4711"  # the whole message came in; no reply code
        elif fault == "kill250":
            # right after the 250 is written: the run may or may not have recorded it
            asyncio.get_running_loop().call_soon(self.kill_client, "right after the 250")
        return "250 OK"


class _FaultySMTP(SMTP):
    async def _handle_client(self) -> None:
        if await self.event_handler.greet(self):
            await super()._handle_client()


class _FaultyController(Controller):
    def factory(self) -> SMTP:
        return _FaultySMTP(self.handler, **self.SMTP_kwargs)


@contextmanager
def faulty_server(handler: FaultyServer) -> Iterator[int]:
    """The server on a free port of 127.0.0.1, for the duration of the block."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = _FaultyController(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# -- the world and the runs -----------------------------------------------------------------


@dataclass
class World:
    """The folder of a game: its database, actions.yaml, templates and participants."""

    directory: Path
    emails: dict[str, str]  # person → address
    courses: dict[str, str]  # person → course
    bounce: set[str]  # addresses the server refuses with 550

    @property
    def db(self) -> Path:
        """The game's database."""
        return self.directory / "certify.db"

    def expected(self) -> set[Key]:
        """Every delivery that must end settled: both actions for every participant."""
        return {
            (action, course, person)
            for person, course in self.courses.items()
            for action in ("certificate", "proof")
        }


def build_world(directory: Path, participants: int, rounds: int, rng: random.Random) -> World:
    """Courses ending one after another over the first part of the rounds, so that new
    deliveries keep becoming due while faults happen; two actions, conditions not checked."""
    courses = max(2, participants // 5)
    span = rounds * sum(STEP_MINUTES) / 2 * 0.6
    ends = [START + timedelta(minutes=span * c / courses) for c in range(courses)]
    people = [f"P{n}" for n in range(1, participants + 1)]
    bounce_people = set(rng.sample(people, max(1, participants // 20)))
    emails = {
        p: f"{'bounce-' if p in bounce_people else ''}{p.lower()}@example.org" for p in people
    }
    course_of = {p: f"C{1 + n % courses}" for n, p in enumerate(people)}
    write_export(
        directory / "export",
        courses="course_id,name,course_type,status,end\n"
        + "".join(
            f"C{c + 1},Course {c + 1},FOUR,final,{end:%Y-%m-%d %H:%M}\n"
            for c, end in enumerate(ends)
        ),
        parts="part_id,course_id,name\n",
        persons="person_id,first_name,last_name,email\n"
        + "".join(f"{p},First{p},Last{p},{emails[p]}\n" for p in people),
        enrollments="course_id,person_id\n" + "".join(f"{course_of[p]},{p}\n" for p in people),
        attendance="part_id,person_id,present\n",
        results="part_id,person_id,passed\n",
    )
    world = World(directory, emails, course_of, {emails[p] for p in bounce_people})
    import_into(world.db, directory / "export", now="2026-11-01 08:00")
    make_config(
        directory,
        attendance="no",
        passing="no",
        extra_actions=proof_action(timing="{after: course_end, offset: 1, unit: hours}"),
        top=f"smtp: {{timeout: {TIMEOUT}}}\n",
    )
    (directory / "templates" / "proof.txt.j2").write_text(PROOF_TEMPLATE)
    return world


@dataclass
class Launch:
    """One `run-due` process of a round: its plan, and how it ended."""

    name: str
    now: str
    start: float  # seconds after the round began
    wait: float  # --wait
    limit: int | None = None
    # "after": SIGKILL `kill_after` seconds after the start; "locked": SIGKILL, "term":
    # SIGTERM, that long after it took the run lock; "claimed", "sending": SIGKILL the
    # moment the database shows such a row while it holds the lock
    kill: str = ""
    kill_after: float = 0.0
    locked_at: float | None = None
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    ended: float = 0.0
    killed: str = ""  # why it was killed, if it was
    termed: str = ""  # when it was sent SIGTERM, if it was
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    report: dict[str, Any] | None = None

    def story(self) -> str:
        """One line: what was planned for this run and how it ended."""
        plan = f"+{self.start:.2f}s --wait {self.wait:g}"
        if self.limit:
            plan += f" --limit {self.limit}"
        if self.kill:
            how = "SIGTERM" if self.kill == "term" else "SIGKILL"
            when = {
                "after": f"with {how} after {self.kill_after:.2f}s",
                "locked": f"with {how} {self.kill_after:.2f}s after it takes the lock",
                "term": f"with {how} {self.kill_after:.2f}s after it takes the lock",
            }.get(self.kill, f"on {self.kill}")
            plan += f", to kill {when}"
        if self.killed:
            end = f"killed {self.killed}"
        elif self.returncode == 75:
            end = "75 (locked)"
        else:
            end = str(self.returncode)
        if self.termed and not self.killed:
            end += f" after {self.termed}"
        text = f"run {self.name} at {self.now} ({plan}) → {end} in {self.ended - self.started:.2f}s"
        if self.report:
            r = self.report
            counts = ", ".join(
                f"{name} {r[name]}"
                for name in ("sent", "failed", "pending", "unknown", "retry_later")
                if r.get(name)
            )
            text += f": {counts or 'nothing to do'}"
            if r.get("stopped"):
                text += f"; {r['stopped'].split(';')[0]}"
        return text


@dataclass
class Round:
    """One round: its --now, the server's mood, its runs and what the server saw."""

    number: int
    now: str
    mood: Mood
    launches: list[Launch] = field(default_factory=list)
    server: str = ""
    seconds: float = 0.0

    def story(self) -> str:
        """The round's lines for a failure report."""
        lines = [f"round {self.number} at {self.now}, {self.seconds:.1f}s ({self.mood.describe()})"]
        lines += [f"  {launch.story()}" for launch in self.launches]
        if self.server:
            lines.append(f"  server: {self.server}")
        return "\n".join(lines)


def _command(port: int, launch: Launch) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "certify",
        "run-due",
        "--now",
        launch.now,
        "--transport",
        "smtp",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--smtp-security",
        "none",
        "--json",
        "--wait",
        str(launch.wait),
    ]
    if launch.limit:
        command += ["--limit", str(launch.limit)]
    return command


def _environment() -> dict[str, str]:
    # a game of a hundred processes is about what they do, not which lines they ran: no
    # coverage measuring inside them (it slows each start several times over)
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTIFY_", "COV_CORE", "COVERAGE"))
    }


def lock_holder(lock: Path) -> int | None:
    """The process that holds the run lock, from the kernel's table of locks."""
    try:
        status = lock.stat()
    except FileNotFoundError:
        return None
    ident = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" not in fields and len(fields) > 5 and fields[5] == ident:
            return int(fields[4])
    return None


def play_round(
    world: World,
    server: FaultyServer,
    port: int,
    number: int,
    launches: list[Launch],
    deadline: float = ROUND_DEADLINE,
) -> None:
    """Start the round's runs at their moments, kill those planned to die, wait for all."""
    env = _environment()
    began = time.monotonic()
    pending = sorted(launches, key=lambda launch: launch.start)
    running: list[Launch] = []
    watch = sqlite3.connect(world.db, isolation_level=None, timeout=10)
    lock = world.db.with_name(world.db.name + ".lock")
    try:
        while pending or running:
            elapsed = time.monotonic() - began
            while pending and pending[0].start <= elapsed:
                launch = pending.pop(0)
                folder = world.directory / "runs"
                folder.mkdir(exist_ok=True)
                out = (folder / f"{number}{launch.name}.out").open("wb")
                err = (folder / f"{number}{launch.name}.err").open("wb")
                launch.started = time.monotonic()
                launch.process = subprocess.Popen(
                    _command(port, launch), cwd=world.directory, env=env, stdout=out, stderr=err
                )
                out.close()
                err.close()
                server.ours.add(launch.process.pid)
                running.append(launch)
            triggers = {launch.kill for launch in running if launch.kill in ("claimed", "sending")}
            seen = set()
            if triggers:
                marks = ", ".join("?" * len(triggers))
                seen = {
                    state
                    for (state,) in watch.execute(
                        f"SELECT DISTINCT state FROM deliveries WHERE state IN ({marks})",
                        sorted(triggers),
                    )
                }
            waiting_for_lock = any(
                launch.kill in ("locked", "term") and launch.locked_at is None for launch in running
            )
            holder = lock_holder(lock) if seen or waiting_for_lock else None
            for launch in list(running):
                assert launch.process is not None
                now = time.monotonic()
                if launch.process.poll() is None:
                    if holder == launch.process.pid and launch.locked_at is None:
                        launch.locked_at = now
                    locked = now - launch.locked_at if launch.locked_at is not None else -1.0
                    reason = ""
                    if launch.kill == "after" and now - launch.started >= launch.kill_after:
                        reason = f"after {now - launch.started:.2f}s"
                    elif launch.kill == "locked" and locked >= launch.kill_after:
                        reason = f"{locked:.2f}s after it took the lock"
                    elif launch.kill == "term" and locked >= launch.kill_after:
                        if not launch.termed:
                            launch.process.send_signal(signal.SIGTERM)
                            launch.termed = f"SIGTERM {locked:.2f}s after it took the lock"
                    elif launch.kill in seen and holder == launch.process.pid:
                        reason = f"on {launch.kill} after {now - launch.started:.2f}s"
                    elif now - began >= deadline:
                        reason = f"at the round's deadline after {now - launch.started:.2f}s"
                    if reason:
                        launch.process.send_signal(signal.SIGKILL)
                        launch.process.wait()
                        launch.killed = reason
                if launch.process.poll() is not None:
                    launch.ended = time.monotonic()
                    launch.returncode = launch.process.returncode
                    server.ours.discard(launch.process.pid)
                    if launch.returncode == -signal.SIGKILL and not launch.killed:
                        step = server.kills.get(launch.process.pid, "by nobody known")
                        launch.killed = f"by the server at {step}"
                    elif launch.returncode == -signal.SIGTERM:
                        launch.killed = f"by {launch.termed}, before it could stop cleanly"
                    running.remove(launch)
            time.sleep(0.005)
    finally:
        watch.close()
    for launch in launches:
        folder = world.directory / "runs"
        launch.stdout = (folder / f"{number}{launch.name}.out").read_text()
        launch.stderr = (folder / f"{number}{launch.name}.err").read_text()
        if not launch.killed and launch.returncode in (0, 3) and launch.stdout.strip():
            launch.report = json.loads(launch.stdout)


def plan_launches(rng: random.Random, moment: datetime) -> list[Launch]:
    """Two or three overlapping runs, a minute or so apart in --now as cron ticks may be;
    some with a --limit, some to be killed or stopped."""
    launches = []
    for index in range(rng.choice([2, 2, 2, 3, 3])):
        skew = timedelta(minutes=rng.choice([0, 0, 0, 1, 3]))
        launch = Launch(
            name="abc"[index],
            now=f"{moment + skew:%Y-%m-%dT%H:%M}",
            start=rng.uniform(0, 0.5),
            wait=rng.choice([0, 0.5, 2, 5, 10]),
        )
        if rng.random() < 0.3:
            launch.limit = rng.randint(1, 8)
        roll = rng.random()
        if roll < 0.12:
            launch.kill, launch.kill_after = "after", rng.uniform(0.1, 1.0)
        elif roll < 0.22:
            launch.kill, launch.kill_after = "locked", rng.uniform(0, 0.25)
        elif roll < 0.27:
            launch.kill, launch.kill_after = "term", rng.uniform(0, 0.25)
        elif roll < 0.34:
            launch.kill = "claimed"
        elif roll < 0.41:
            launch.kill = "sending"
        launches.append(launch)
    return launches


@dataclass
class Played:
    """Everything a game left: its rounds, the server's log and the database."""

    seed: int
    world: World
    rounds: list[Round]
    copies: list[Copy]
    refusals: list[Refusal]
    deliveries: dict[Key, dict[str, Any]]
    events: dict[int, list[tuple[str, str, str | None]]]
    lock_free: bool
    seconds: float

    @property
    def launches(self) -> list[Launch]:
        """Every run of the game, in order."""
        return [launch for r in self.rounds for launch in r.launches]

    def counts(self) -> Counter[str]:
        """What happened, in numbers, for a report."""
        c: Counter[str] = Counter()
        for launch in self.launches:
            c["runs"] += 1
            c["killed" if launch.killed else f"exit {launch.returncode}"] += 1
        for copy in self.copies:
            c[f"copies {copy.disposition}"] += 1
        for refusal in self.refusals:
            c[f"refused {refusal.code} at {refusal.stage}"] += 1
        for row in self.deliveries.values():
            c[f"ends {row['state']}"] += 1
        return c

    def story(self) -> str:
        """Every round's story, with the seed that plays it again."""
        return f"seed {self.seed} (CERTIFY_FAULTS_SEED={self.seed} to play it again)\n" + (
            "\n".join(r.story() for r in self.rounds)
        )


def play(directory: Path, seed: int, *, rounds: int, participants: int) -> Played:
    """Rounds of overlapping, faulty, sometimes killed runs; then clean runs until done."""
    began = time.monotonic()
    rng = random.Random(seed)
    world = build_world(directory, participants, rounds, rng)
    server = FaultyServer(seed, world.bounce, world.db.with_name(world.db.name + ".lock"))
    played_rounds: list[Round] = []
    moment = START
    deck = [mood for mood, weight in MOODS for _ in range(weight)]
    rng.shuffle(deck)
    with faulty_server(server) as port:
        for number in range(1, rounds + 1):
            mood = deck[(number - 1) % len(deck)]
            now = f"{moment:%Y-%m-%dT%H:%M}"
            this = Round(number, now, mood, plan_launches(rng, moment))
            server.round, server.mood = number, mood
            started = time.monotonic()
            play_round(world, server, port, number, this.launches)
            this.seconds = time.monotonic() - started
            played_rounds.append(this)
            moment += timedelta(minutes=rng.randint(*STEP_MINUTES))
        # past every back-off so far (at most 24 hours), well within the 72 hours of giving up
        moment += timedelta(hours=25)
        server.mood = HEALTHY
        for number in range(rounds + 1, rounds + 8):
            now = f"{moment:%Y-%m-%dT%H:%M}"
            this = Round(number, now, HEALTHY, [Launch("clean", now, 0, 30)])
            server.round = number
            play_round(world, server, port, number, this.launches, deadline=120)
            played_rounds.append(this)
            report, retry_at = this.launches[0].report or {}, _next_retry(world.db)
            if this.launches[0].returncode == 0 and not report.get("sent") and retry_at is None:
                break  # nothing moved and nothing waits: that was the last run
            # a slow machine can make even a healthy server time out: wait out that back-off
            moment = max(moment + timedelta(minutes=1), retry_at or moment)
    for r in played_rounds:
        r.server = _server_story([c for c in server.copies if c.round == r.number], server, r)
    deliveries, events = _database(world.db)
    return Played(
        seed,
        world,
        played_rounds,
        list(server.copies),
        list(server.refusals),
        deliveries,
        events,
        lock_holder(world.db.with_name(world.db.name + ".lock")) is None,
        time.monotonic() - began,
    )


def _server_story(copies: list[Copy], server: FaultyServer, r: Round) -> str:
    """What the server received and refused in one round, counted."""
    parts = [f"{n} {d}" for d, n in sorted(Counter(c.disposition for c in copies).items())]
    refused = Counter(f"{x.code}@{x.stage}" for x in server.refusals if x.round == r.number)
    parts += [f"{n}× {what}" for what, n in sorted(refused.items())]
    return ", ".join(parts) or "nothing"


def _next_retry(db: Path) -> datetime | None:
    """When the last delivery still in motion may be retried (local time), or None."""
    with sqlite3.connect(db) as conn:
        count, latest = conn.execute(
            "SELECT count(*), max(coalesce(next_attempt_at, '')) FROM deliveries "
            "WHERE state IN ('pending', 'claimed', 'sending')"
        ).fetchone()
    if not count:
        return None
    if not latest:
        return START
    moment = datetime.fromisoformat(latest.replace("Z", "+00:00")).astimezone(AMS)
    return moment.replace(tzinfo=None) + timedelta(minutes=1)


def _database(db: Path) -> tuple[dict[Key, dict[str, Any]], dict[int, list[Any]]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        deliveries = {
            (row["action"], row["course_id"], row["person_id"]): dict(row)
            for row in conn.execute(
                "SELECT id, action, course_id, person_id, state, attempts, last_error, "
                "last_code, message_id, email, next_attempt_at FROM deliveries"
            )
        }
        events: dict[int, list[Any]] = defaultdict(list)
        for row in conn.execute(
            "SELECT delivery_id, at, state, detail FROM delivery_events ORDER BY id"
        ):
            events[row[0]].append((row[1], row[2], row[3]))
    return deliveries, events


# -- the checks -----------------------------------------------------------------------------


def check(played: Played) -> list[str]:
    """Every broken promise, each with the rows that show it (empty: all kept)."""
    problems: list[str] = []
    by_key: dict[Key, list[Copy]] = defaultdict(list)
    for copy in played.copies:
        by_key[copy.key].append(copy)
    refused_550 = {x.address for x in played.refusals if x.code == 550}

    def show(key: Key) -> str:
        row = played.deliveries.get(key)
        lines = [f"    row: {row}"]
        if row:
            lines += [f"    event: {e}" for e in played.events.get(row["id"], [])]
        lines += [
            f"    server: round {c.round} {c.disposition} {c.message_id}" for c in by_key[key]
        ]
        return "\n".join(lines)

    def problem(key: Key | None, text: str) -> None:
        problems.append(
            f"{'/'.join(key) + ': ' if key else ''}{text}" + (f"\n{show(key)}" if key else "")
        )

    # the server's side: at most one copy that may have arrived, one Message-ID per delivery
    for key, copies in sorted(by_key.items()):
        arrived = [c for c in copies if c.disposition in DELIVERED]
        if len(arrived) > 1:
            problem(key, f"received {len(arrived)} times")
        if len({c.message_id for c in copies}) > 1:
            problem(key, "its attempts carried different Message-IDs")
        row = played.deliveries.get(key)
        if row is None:
            problem(key, "the server received it, the database has no record of it")
        elif any(c.message_id != row["message_id"] for c in copies):
            problem(key, "the server saw another Message-ID than the database keeps")

    # the database's side: nothing lost, every end state backed by the server's log
    expected = played.world.expected()
    for key in sorted(expected - played.deliveries.keys()):
        problem(key, "never recorded: lost")
    for key, row in sorted(played.deliveries.items()):
        if key not in expected:
            problem(key, "recorded, but no such participant")
        arrived = [c for c in by_key[key] if c.disposition in DELIVERED]
        state = row["state"]
        if state == "sent":
            if len(arrived) != 1 or arrived[0].disposition == "dropped":
                problem(key, "recorded sent, but the server never answered 250 to it")
        elif state == "failed":
            code = row["last_code"]
            gave_up = "gave up after" in (row["last_error"] or "")
            if not (gave_up or (code is not None and 500 <= code < 600)):
                problem(key, "failed without a 5xx reason")
            if arrived:
                problem(key, "recorded failed, but the server accepted it")
            rejected = row["email"] in refused_550 or any(
                c.disposition == "rejected" for c in by_key[key]
            )
            if not gave_up and not rejected:
                problem(key, "failed, but the server never refused it permanently")
        elif state == "unknown":
            error = row["last_error"] or ""
            if "went silent" in error and not any(c.disposition in SILENT for c in by_key[key]):
                problem(key, "unknown after silence, but the server never went silent on it")
        else:
            problem(key, f"left {state} after the clean runs")
        if row["email"] in played.world.bounce and state != "failed":
            problem(key, f"the address bounces (550) but it ends {state}")

    # the history of each delivery: back-off kept, nothing final ever claimed again
    for key, row in sorted(played.deliveries.items()):
        attempts = 0
        retry_from: datetime | None = None
        final = ""
        for at, state, detail in played.events.get(row["id"], []):
            moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
            if state == "claimed":
                if final:
                    problem(key, f"claimed again at {at} after it was {final}")
                if retry_from is not None and moment < retry_from:
                    problem(key, f"retried at {at}, before its back-off ended at {retry_from}")
            elif state == "pending" and not (detail or "").startswith("run stopped"):
                attempts += 1
                retry_from = moment + min(
                    timedelta(minutes=5) * 2 ** (attempts - 1), timedelta(hours=24)
                )
            elif state in ("sent", "failed", "unknown"):
                final = state

    # the runs: exit codes, no traceback, reports that match the server's log
    for r in played.rounds:
        for launch in r.launches:
            where = f"round {r.number} run {launch.name}"
            if "Traceback" in launch.stderr + launch.stdout:
                problem(None, f"{where} printed a traceback:\n{launch.stderr[-2000:]}")
            if launch.killed:
                continue
            if launch.returncode not in (0, 3, 75):
                problem(None, f"{where} exited {launch.returncode}: {launch.stderr[-500:]}")
            if launch.returncode == 75:
                if "another certify run holds" not in launch.stderr:
                    problem(None, f"{where} exited 75 without saying why: {launch.stderr}")
                if launch.ended - launch.started < launch.wait:
                    problem(None, f"{where} gave up on the lock before --wait {launch.wait}")
                continue
            if launch.report is None:
                problem(None, f"{where} exited {launch.returncode} without a JSON report")
                continue
            problems.extend(f"{where}: {p}" for p in _check_report(launch.report, launch, by_key))
    clean = played.rounds[-1].launches[0]
    if clean.returncode != 0 or (clean.report or {}).get("sent"):
        problem(None, f"the last clean run still had work or failed: {clean.story()}")
    if not played.lock_free:
        problem(None, "the run lock is still held after the last run")
    return problems


def _check_report(
    report: dict[str, Any], launch: Launch, by_key: dict[Key, list[Copy]]
) -> list[str]:
    """One run's JSON against its exit code, the stop rule and the server's log."""
    problems = []
    outcomes = report["deliveries"]
    not_accepted = report["failed"] or report["pending"] or report["unknown"] or report["stopped"]
    if launch.returncode != (3 if not_accepted else 0):
        problems.append(f"exit {launch.returncode}, but the report says {launch.story()}")
    if report["problems"]:
        problems.append(f"configuration problems: {report['problems']}")
    states = [o["state"] for o in outcomes]
    for i in range(len(states) - 2):
        if states[i : i + 3] == ["unknown"] * 3 and i + 3 != len(states):
            problems.append("went on after 3 unknown outcomes in a row")
            break
    if report["stopped"] and "unknown" in report["stopped"] and states[-3:] != ["unknown"] * 3:
        problems.append(f"stopped for unknowns after {states[-3:]}")
    connection_stop = report["stopped"] and "connection" in report["stopped"]
    if connection_stop and not set(states[-3:]) <= {"pending", "failed"}:
        problems.append(f"stopped for connection failures after {states[-3:]}")
    for o in outcomes:
        key = (o["action"], o["course"], o["person"])
        seen = [c for c in by_key[key] if c.message_id == o["message_id"]]
        if o["state"] == "sent" and not any(c.disposition in DELIVERED for c in seen):
            problems.append(f"{'/'.join(key)} reported sent, the server has no accepted copy")
        silent = any(c.disposition in SILENT for c in seen)
        if o["state"] == "unknown" and "went silent" in (o["error"] or "") and not silent:
            problems.append(f"{'/'.join(key)} reported unknown, the server did not go silent")
    return problems


def test_nothing_lost_nothing_sent_twice_under_faults_and_kills(tmp_path: Path) -> None:
    played = play(tmp_path, SEED, rounds=16, participants=40)
    problems = check(played)
    assert not problems, (
        f"{len(problems)} broken promise(s):\n"
        + "\n".join(problems[:20])
        + f"\n\n{played.story()}\n{dict(played.counts())}"
    )
    # the game really played: runs were killed, faults met, bounces failed, most sent
    # (which faults and kills land depends on the machine's speed; that some do, not)
    counts = played.counts()
    faults = sum(n for what, n in counts.items() if what.startswith(("copies", "refused")))
    played_out = (
        counts["killed"]
        and faults > counts["copies accepted"] + counts["refused 550 at rcpt"]
        and counts["exit 3"]
        and counts["ends sent"] > len(played.world.expected()) // 2
    )
    assert played_out, f"{played.story()}\n{dict(counts)}"
