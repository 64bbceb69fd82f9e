"""Signed certificates (`certificates.sign`): every PDF a delivery attaches is signed with
the organisation's key, kept signed, and a key that cannot sign stops the run."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.helpers import DEMO_NOW, TO_OUTBOX, cli, rows
from tests.register.test_register import attachments, listed

PASSWORD = "correct horse battery staple"
SIGN = "  sign: {pkcs12: keys/signing.p12, password_env: CERTIFY_SIGN_PASSWORD}\n"
WITH_PASSWORD = {"CERTIFY_SIGN_PASSWORD": PASSWORD}
# a signing certificate: it signs documents (and, self-signed, itself)
SIGNS = ("digital_signature", "content_commitment", "key_cert_sign")
USAGE = {
    usage: usage in SIGNS
    for usage in (*SIGNS, "key_encipherment", "data_encipherment", "key_agreement", "crl_sign",
                  "encipher_only", "decipher_only")
}  # fmt: skip


def self_signed(
    valid_days: int = 365, curve: bool = False
) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A key (RSA, or EC P-256) and a self-signed certificate for it, as a small
    organisation might make."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if curve
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Opleidingsbureau")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2 + max(0, -valid_days)))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**USAGE), critical=True)  # type: ignore[arg-type]
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def write_pkcs12(path: Path, valid_days: int = 365, curve: bool = False) -> x509.Certificate:
    """A password-protected PKCS#12 file at `path`; returns its certificate."""
    key, certificate = self_signed(valid_days, curve)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"signing", key, certificate, None,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )  # fmt: skip
    return certificate


def with_signing(folder: Path) -> None:
    """actions.yaml's `certificates:` section gains `sign:`."""
    actions = folder / "actions.yaml"
    text = actions.read_text(encoding="utf-8")
    marker = '  issuer: "Opleidingsbureau"\n'
    assert marker in text
    actions.write_text(text.replace(marker, marker + SIGN), encoding="utf-8")


@pytest.fixture
def signing(switched_on: Path) -> tuple[Path, x509.Certificate]:
    """The shipped examples switched on, with a signing key and `sign:` in actions.yaml."""
    certificate = write_pkcs12(switched_on / "keys" / "signing.p12")
    with_signing(switched_on)
    return switched_on, certificate


def signature_status(pdf: bytes, certificate: x509.Certificate) -> Any:
    """pyHanko's reading of the PDF's one signature, the test's certificate trusted."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    return validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))


def test_every_certificate_is_signed_kept_signed_and_given_back_signed(
    signing: tuple[Path, x509.Certificate], tmp_path: Path
) -> None:
    folder, certificate = signing
    ran = cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=folder, env=WITH_PASSWORD)
    assert ran.returncode == 0, ran.stderr
    sent = attachments(folder / "outbox")
    assert len(sent) == 4
    for entry in listed(folder):
        attached = sent[entry["person_id"]]
        status = signature_status(attached, certificate)
        assert status.intact and status.valid and status.trusted
        (digest,) = rows(
            folder / "certify.db",
            f"SELECT sha256 FROM certificates WHERE number = '{entry['number']}'",
        )[0]
        assert digest == hashlib.sha256(attached).hexdigest()
        out = tmp_path / f"{entry['number']}.pdf"
        got = cli("certificates", "get", entry["number"], "--out", str(out), cwd=folder)
        assert got.returncode == 0 and out.read_bytes() == attached
    # a re-issue is signed as well, and `get` gives its signed bytes
    old = listed(folder, "--person", "P001")[0]
    reissue = ("certificates", "reissue", old["number"], "--reason", "name corrected")
    ran = cli(*reissue, *TO_OUTBOX, "--now", "2026-12-01T10:00", cwd=folder, env=WITH_PASSWORD)
    assert ran.returncode == 0, ran.stderr
    new = listed(folder, "--person", "P001")[1]
    out = tmp_path / "new.pdf"
    assert cli("certificates", "get", new["number"], "--out", str(out), cwd=folder).returncode == 0
    assert signature_status(out.read_bytes(), certificate).intact


def test_an_altered_certificate_no_longer_reads_as_intact(
    signing: tuple[Path, x509.Certificate],
) -> None:
    folder, certificate = signing
    assert cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=folder, env=WITH_PASSWORD)
    signed = attachments(folder / "outbox")["P002"]
    assert signature_status(signed, certificate).intact
    altered = signed.replace(b"(ReportLab PDF", b"(ReportLab PDX", 1)  # in the signed range
    assert altered != signed and len(altered) == len(signed)
    assert not signature_status(altered, certificate).intact


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="pdfsig (poppler-utils) not installed")
def test_poppler_reports_the_signature_valid(
    signing: tuple[Path, x509.Certificate], tmp_path: Path
) -> None:
    folder, _certificate = signing
    ran = cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=folder, env=WITH_PASSWORD)
    assert ran.returncode == 0, ran.stderr
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(attachments(folder / "outbox")["P001"])
    checked = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, check=False)
    assert "Signature is Valid." in checked.stdout, checked.stdout + checked.stderr
    assert "Total document signed" in checked.stdout
    assert "Opleidingsbureau" in checked.stdout


def _wrong_password(folder: Path) -> dict[str, str]:
    return {"CERTIFY_SIGN_PASSWORD": "wrong"}


def _missing_file(folder: Path) -> dict[str, str]:
    (folder / "keys" / "signing.p12").unlink()
    return WITH_PASSWORD


def _unset_password(folder: Path) -> dict[str, str]:
    return {}


def _not_pkcs12(folder: Path) -> dict[str, str]:
    (folder / "keys" / "signing.p12").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n")
    return WITH_PASSWORD


def _expired(folder: Path) -> dict[str, str]:
    write_pkcs12(folder / "keys" / "signing.p12", valid_days=-1)
    return WITH_PASSWORD


@pytest.mark.parametrize(
    ("spoil", "field", "said"),
    [
        (_wrong_password, "password_env", "the password in CERTIFY_SIGN_PASSWORD does not open"),
        (_missing_file, "pkcs12", "keys/signing.p12 not found; make one with openssl pkcs12"),
        (_unset_password, "password_env", "the environment variable CERTIFY_SIGN_PASSWORD is not"),
        (_not_pkcs12, "pkcs12", "keys/signing.p12 is not a PKCS#12 file"),
        (_expired, "pkcs12", "the certificate in signing.p12 expired on"),
    ],
)
def test_a_key_that_cannot_sign_is_a_configuration_problem_and_nothing_is_sent(
    signing: tuple[Path, x509.Certificate],
    spoil: Callable[[Path], dict[str, str]],
    field: str,
    said: str,
) -> None:
    folder, _certificate = signing
    env = spoil(folder)
    lines = (folder / "actions.yaml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("  sign:"))
    column = lines[line - 1].index(f"{field}: ") + len(f"{field}: ") + 1  # at the value
    checked = cli("validate", cwd=folder, env=env)
    assert checked.returncode == 1
    assert f"actions.yaml:{line}:{column}: certificates.sign.{field}: {said}" in checked.stderr
    before = sorted((folder / "outbox").glob("*")) if (folder / "outbox").exists() else []
    for run in (("--dry-run",), TO_OUTBOX):
        ran = cli("run-due", "--now", DEMO_NOW, *run, cwd=folder, env=env)
        assert ran.returncode == 1 and said in ran.stderr + ran.stdout
    after = sorted((folder / "outbox").glob("*")) if (folder / "outbox").exists() else []
    assert after == before
    assert rows(folder / "certify.db", "SELECT count(*) FROM certificates") == [(0,)]
    assert rows(
        folder / "certify.db",
        "SELECT count(*) FROM deliveries WHERE state IN "
        "('claimed', 'sending', 'sent', 'failed', 'unknown')",
    ) == [(0,)]
    # fixed, the next run sends them, signed
    write_pkcs12(folder / "keys" / "signing.p12")
    ran = cli("run-due", "--now", DEMO_NOW, *TO_OUTBOX, cwd=folder, env=WITH_PASSWORD)
    assert ran.returncode == 0 and len(attachments(folder / "outbox")) == 4


def test_without_pyhanko_the_problem_says_how_to_install_it(
    signing: tuple[Path, x509.Certificate], monkeypatch: pytest.MonkeyPatch
) -> None:
    from certify.config import load
    from certify.register.signing import load_signing

    folder, _certificate = signing
    monkeypatch.setenv("CERTIFY_SIGN_PASSWORD", PASSWORD)
    monkeypatch.setitem(sys.modules, "pyhanko.sign.signers", None)  # as if not installed
    found, problems = load_signing(load(folder / "actions.yaml"))
    assert found is None
    (problem,) = problems
    assert "signing needs pyHanko, which is not installed" in problem
    assert "pip install 'certify[sign]'" in problem and "pipx inject certify" in problem


@pytest.mark.parametrize("curve", [False, True], ids=["RSA", "EC P-256"])
def test_each_pdf_of_a_run_is_signed_with_the_key_opened_once(
    examples: Path, monkeypatch: pytest.MonkeyPatch, curve: bool
) -> None:
    from reportlab.pdfgen.canvas import Canvas

    from certify.config import load
    from certify.register.signing import open_signing

    certificate = write_pkcs12(examples / "keys" / "signing.p12", curve=curve)
    with_signing(examples)
    monkeypatch.setenv("CERTIFY_SIGN_PASSWORD", PASSWORD)
    signing = open_signing(load(examples / "actions.yaml"))
    assert signing is not None
    for name in ("Anna de Vries", "Zoë Öztürk", "Bram van der Berg"):
        buffer = io.BytesIO()
        page = Canvas(buffer)
        page.drawString(72, 720, name)
        page.save()
        signed = signing.sign(buffer.getvalue())
        assert signed.startswith(buffer.getvalue())  # an incremental update: the page as drawn
        status = signature_status(signed, certificate)
        assert status.intact and status.valid and status.trusted
