"""Fault injection at a larger setting: the scenario of `tests/deliver/test_faults.py`, more rounds,
more participants, one seed per repeat. It reports counts, not a timing: `ok` is "nothing
lost, nothing sent twice, every promise of the delivery log kept"."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import Result
from tests.deliver.test_faults import SEED, check, play

ROUNDS = 60
PARTICIPANTS = 150


def run(repeat: int, rounds: int = ROUNDS, participants: int = PARTICIPANTS) -> list[Result]:
    results = []
    for seed in range(SEED, SEED + repeat):
        with tempfile.TemporaryDirectory(prefix="certify-faults-") as directory:
            played = play(Path(directory), seed, rounds=rounds, participants=participants)
            problems = check(played)
        counts = played.counts()
        runs = ", ".join(
            f"{counts[k]} {k}" for k in ("exit 0", "exit 3", "exit 75", "killed") if counts[k]
        )
        ends = ", ".join(
            f"{counts['ends ' + s]} {s}"
            for s in ("sent", "failed", "unknown")
            if counts["ends " + s]
        )
        arrived = sum(
            n
            for k, n in counts.items()
            if k.startswith("copies ") and k not in ("copies rejected", "copies deferred")
        )
        note = (
            f"{counts['runs']} runs ({runs}); {len(played.world.expected())} deliveries end "
            f"{ends}; server got {arrived} copies that may have arrived, "
            f"{counts['copies rejected'] + counts['copies deferred']} refused after the data; "
            f"{played.seconds:.0f} s"
        )
        if problems:
            note += "\n" + "\n".join(problems[:10]) + "\n" + played.story()
        results.append(
            Result(
                f"faults, seed {seed}: {rounds} rounds x {participants} participants x 2 actions",
                float(len(problems)),
                0.0,
                "broken promises",
                "0 lost, 0 doubled",
                not problems,
                note,
                kind="count",
            )
        )
    return results
