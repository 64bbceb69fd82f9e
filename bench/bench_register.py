"""The certificate register: PDFs with a QR code per second, publishing the verification
site of 10,000 certificates against the floor, publishing again with nothing changed,
the database's growth per kept PDF and the time of `certify backup` of that register.

The register is built directly (10,000 issued certificates, each with a real PDF of the
shipped layout, QR code included): the flat export and `validity:` that `register_world`
uses are not part of this build.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_pdf import one_line_floor
from bench.common import (
    DATA,
    ROOT,
    Broken,
    Proc,
    Result,
    Side,
    certify,
    floor_script,
    interleaved,
    measure,
    median,
    ratio_result,
    scratch,
    timed,
)
from certify.config import load
from certify.register.codes import new_code, shown
from certify.render.context import sample_context
from certify.render.layout import render_pdf
from certify.render.templates import Templates
from certify.store.database import Store

CERTIFICATES = 10_000
DISTINCT_PDFS = 500  # rendered for real; the register cycles through them
NOW = datetime(2027, 1, 15, 11, 0, tzinfo=UTC)
FIRST_NAMES = [
    "Anna",
    "Bram",
    "Chloé",
    "Daan",
    "Emma",
    "Fenna",
    "Gijs",
    "Hanna",
    "Iris",
    "Jan",
    "Kees",
    "Lotte",
    "Milan",
    "Noor",
    "Zoë",
]
LAST_NAMES = [
    "Berg",
    "Bakker",
    "Dijkstra",
    "Jansen",
    "Koç",
    "Mulder",
    "Öztürk",
    "Peeters",
    "Smit",
    "Visser",
    "Wit",
]


def _contexts(count: int) -> list[dict[str, object]]:
    config = load(ROOT / "actions.yaml")
    contexts = []
    for index in range(count):
        context = sample_context(NOW)
        name = f"{FIRST_NAMES[index % 15]} {LAST_NAMES[index % 11]}-{index}"
        context["person"]["full_name"] = name
        code = shown(new_code())
        context["certificate"].update(
            number=f"2027-{index:06d}-0",
            code=code,
            verify_url=config.settings.certificates.url_for(code),
        )
        contexts.append(context)
    return contexts


def run_pdf(repeat: int, count: int = 1000) -> list[Result]:
    """PDFs of the shipped layout, QR code included, per second; floor: one line of text."""
    config = load(ROOT / "actions.yaml")
    layout = Templates(config).layouts["certificate"][None]
    assert layout.layout.qr is not None, "the shipped layout places a QR code"
    contexts = _contexts(count)

    def subject() -> float:
        return count / timed(lambda: [render_pdf(layout, c) for c in contexts])

    def floor() -> float:
        return one_line_floor(contexts)

    rates, floors_ = interleaved(subject, floor, repeat)
    rate = median(rates)
    return [
        Result(
            f"certificate PDFs with a QR code, {count}",
            rate,
            median(floors_),
            "per s",
            ">= 200 per s",
            rate >= 200,
            "floor: one line in the same embedded font",
        )
    ]


def register_db() -> tuple[Path, int]:
    """A database holding 10,000 issued certificates (made once, cached), and how many bytes
    it grew by from empty."""
    folder = DATA / "register"
    db = folder / "register.db"
    growth_file = folder / "growth"
    if db.is_file() and growth_file.is_file():
        return db, int(growth_file.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = load(ROOT / "actions.yaml")
    layout = Templates(config).layouts["certificate"][None]
    pdfs = [render_pdf(layout, context) for context in _contexts(DISTINCT_PDFS)]
    with Store.open(db) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        empty = db.stat().st_size
        rows = []
        for index in range(CERTIFICATES):
            pdf = pdfs[index % DISTINCT_PDFS]
            rows.append(
                (f"2027-{index:06d}-0", new_code(), f"C{index // 20}", f"P{index}",
                 f"{FIRST_NAMES[index % 15]} {LAST_NAMES[index % 11]}-{index}",
                 f"BHV {index // 20}", "2027-01-10", "2027-01-12", "nl" if index % 5 else "en",
                 "2027-01-13", "2028-01-12", pdf, hashlib.sha256(pdf).hexdigest())
            )  # fmt: skip
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO certificates (number, code, action, course_id, person_id, "
                "full_name, course_name, course_start, course_end, language, issued_on, "
                "valid_until, sha256, issued_at, changed_at) VALUES "
                "(?, ?, 'certificate', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "'2027-01-13T08:00:00Z', '2027-01-13T08:00:00Z')",
                [row[:11] + row[12:] for row in rows],
            )
            conn.executemany(
                "INSERT INTO certificate_files (number, pdf) VALUES (?, ?)",
                [(row[0], row[11]) for row in rows],
            )
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    growth = db.stat().st_size - empty
    growth_file.write_text(str(growth))
    return db, growth


def _pages(out: Path) -> int:
    return sum(1 for _ in out.glob("*/index.html"))


def run_site(repeat: int) -> list[Result]:
    """Publishing the site of 10,000 certificates, first and again; growth; backup."""
    db, growth = register_db()
    actions = ROOT / "actions.yaml"

    def publish(out: Path) -> list[str]:
        return certify("certificates", "publish", "--out", out, "--db", db, "--actions", actions)

    def fresh(name: str) -> Path:
        return scratch(name) / "site"

    def full(proc: Proc) -> str:
        if f"published {CERTIFICATES} certificates" not in proc.stdout:
            raise Broken(f"publish did not write every page: {proc.stdout.strip()}")
        return proc.stdout.strip().split(": ", 1)[1]

    def floor_check(proc: Proc) -> None:
        if not proc.stdout.startswith(f"{CERTIFICATES} pages"):
            raise Broken(f"site_floor.py: {proc.stdout.strip()}")

    floor = Side(
        "site_floor",
        lambda: floor_script("site_floor.py", fresh("site-floor"), str(CERTIFICATES)),
        floor_check,  # type: ignore[arg-type]
    )
    first = Side("publish", lambda: publish(fresh("site-first")), full)

    def prepared() -> list[str]:
        out = fresh("site-again")
        subprocess.run(publish(out), check=True, capture_output=True)
        return publish(out)

    again = Side("publish again", prepared, full)
    runs = measure([floor, first, again], repeat)
    backup_seconds = []
    for _ in range(repeat):
        target = scratch("register-backup") / "backup.db"
        started = datetime.now()
        subprocess.run(certify("backup", target, "--db", db), check=True, capture_output=True)
        backup_seconds.append((datetime.now() - started).total_seconds())
    first_wall = median([p.wall for p in runs["publish"]])
    again_wall = median([p.wall for p in runs["publish again"]])
    per_pdf = growth / CERTIFICATES
    return [
        ratio_result(
            f"publishing the site of {CERTIFICATES:,} certificates",
            runs,
            "publish",
            "site_floor",
            1.5,
        ),
        Result(
            "publishing again, nothing changed",
            again_wall,
            first_wall,
            "s",
            "<= 0.2x the first",
            again_wall <= 0.2 * first_wall,
        ),
        Result(
            "database growth per kept PDF",
            per_pdf / 1024,
            float("nan"),
            "KiB",
            "reported",
            True,
            f"{growth / 2**20:.0f} MiB for {CERTIFICATES:,} certificates",
            kind="count",
        ),
        Result(
            f"certify backup of that register ({db.stat().st_size / 2**20:.0f} MiB)",
            median(backup_seconds),
            float("nan"),
            "s",
            "reported",
            True,
            kind="count",
        ),
    ]
