"""The certificate register: PDFs with a QR code per second, publishing the verification
site of 10,000 certificates against the floor, publishing again with nothing changed,
the database's growth per kept PDF and the time of `certify backup` of that register.

The register is `register_world` of the floors, made as their README says: a flat export
where everyone passes, imported, and one `run-due` that issues 10,000 certificates.
"""

from __future__ import annotations

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
    child_env,
    floor_script,
    floors,
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


def register_db() -> tuple[Path, int, int]:
    """`register_world` as the floors describe it (made once, cached): `gen_flat.py --courses
    500 --all-pass` imported with its actions.yaml, then `run-due --transport dir` issuing
    10,000 certificates with a QR code each. Returns the database, how many bytes it grew by
    in that run (kept PDFs, messages, log) and how many of them are PDF bytes."""
    folder = DATA / "register"
    db = folder / "register.db"
    sizes = folder / "growth"
    if db.is_file() and sizes.is_file():
        growth, pdf_bytes = (int(part) for part in sizes.read_text().split())
        return db, growth, pdf_bytes
    shutil.rmtree(folder, ignore_errors=True)
    world = floors() / "register_world"
    shutil.copytree(world, folder)
    export = folder / "export"
    export.mkdir()
    actions = folder / "actions.yaml"

    def step(command: list[str]) -> None:
        subprocess.run(command, check=True, capture_output=True, env=child_env())

    print(f"     building register_world: {CERTIFICATES:,} certificates (once)", flush=True)
    step(floor_script("gen_flat.py", export / "flat.csv", "--courses", "500", "--all-pass"))
    step(certify("import", export, "--db", db, "--actions", actions, "--now", "2027-01-15T11:00"))
    imported = _checkpointed_size(db)
    step(certify("run-due", "--db", db, "--actions", actions, "--now", "2027-01-15T12:00",
                  "--transport", "dir", "--out", folder / "outbox"))  # fmt: skip
    growth = _checkpointed_size(db) - imported
    with Store.open(db) as store:
        issued, pdf_bytes = store.conn.execute(
            "SELECT count(*), coalesce(sum(length(pdf)), 0) FROM certificate_files"
        ).fetchone()
    if issued != CERTIFICATES:
        raise Broken(f"register_world issued {issued} certificates, not {CERTIFICATES:,}")
    shutil.rmtree(folder / "outbox")
    sizes.write_text(f"{growth} {pdf_bytes}")
    return db, growth, pdf_bytes


def _checkpointed_size(db: Path) -> int:
    with Store.open(db) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.stat().st_size


def _pages(out: Path) -> int:
    return sum(1 for _ in out.glob("*/index.html"))


def run_site(repeat: int) -> list[Result]:
    """Publishing the site of 10,000 certificates, first and again; growth; backup."""
    db, growth, pdf_bytes = register_db()
    actions = DATA / "register" / "actions.yaml"

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
            "database growth per issued certificate",
            per_pdf / 1024,
            float("nan"),
            "KiB",
            "reported",
            True,
            f"{growth / 2**20:.0f} MiB for {CERTIFICATES:,} certificates in the run that "
            f"issued them, {pdf_bytes / CERTIFICATES / 1024:.1f} KiB of it the kept PDF",
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


def _signing_key(folder: Path) -> Path:
    """A 2048-bit RSA key with a self-signed certificate, as PKCS#12 (password `bench`)."""
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Opleidingsbureau")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    path = folder / "signing.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"bench", key, certificate, None, serialization.BestAvailableEncryption(b"bench")
        )
    )
    return path


def run_signed(repeat: int, count: int = 300) -> list[Result]:
    """Signed certificate PDFs (PAdES B-B, `certificates.sign`) per second, against the same
    PDFs unsigned in the same run: what signing costs a run."""
    import os

    from certify.config import Config
    from certify.register.settings import Sign
    from certify.register.signing import open_signing

    folder = scratch("register-sign")
    key = _signing_key(folder)
    os.environ["CERTIFY_BENCH_SIGN"] = "bench"
    config = load(ROOT / "actions.yaml")
    certificates = config.settings.certificates.model_copy(
        update={"sign": Sign(pkcs12=str(key), password_env="CERTIFY_BENCH_SIGN")}
    )
    settings = config.settings.model_copy(update={"certificates": certificates})
    signing = open_signing(Config(config.path, settings, config.positions))
    assert signing is not None
    layout = Templates(config).layouts["certificate"][None]
    contexts = _contexts(count)
    sizes: list[int] = []

    def signed() -> float:
        def make() -> None:
            sizes[:] = [len(signing.sign(render_pdf(layout, c))) for c in contexts]

        return count / timed(make)

    def unsigned() -> float:
        return count / timed(lambda: [render_pdf(layout, c) for c in contexts])

    signed_rates, unsigned_rates = interleaved(signed, unsigned, repeat)
    added = median(sizes) - len(render_pdf(layout, contexts[0]))
    return [
        Result(
            f"signed certificate PDFs with a QR code, {count}",
            median(signed_rates),
            median(unsigned_rates),
            "per s",
            "reported",
            True,
            f"floor: the same PDFs unsigned; a signature adds about {added / 1024:.1f} KiB",
        )
    ]
