"""Signing certificate PDFs (PAdES baseline B-B, with pyHanko) with the key that
`certificates.sign` in actions.yaml names, opened once per run.

The key is opened before a run claims anything: a missing file, an unset password
variable, a wrong password or a file that holds no key is a configuration problem that
stops the run, never a certificate sent unsigned. pyHanko is the optional extra
`certify[sign]`, imported only when `sign:` is set.
"""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certify.errors import ConfigError, os_reason
from certify.locale import _

if TYPE_CHECKING:
    from certify.config import Config
    from certify.register.settings import Sign

PIP = "pip install 'certify[sign]'"
PIPX = "pipx inject certify 'pyHanko>=0.38'"
MAKE_ONE = "openssl pkcs12 -export -inkey key.pem -in certificate.pem -out signing.p12"


class SigningFailed(Exception):
    """A PDF the key could not sign: the delivery waits, it never goes out unsigned."""


class Signing:
    """The signing key of one run; `sign` returns the PDF with its signature added."""

    def __init__(self, signer: Any, where: str) -> None:
        from pyhanko.sign.fields import SigSeedSubFilter
        from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner

        self.where = where
        _keep_key_open(signer)
        metadata = PdfSignatureMetadata(
            field_name="Certificate", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256"
        )
        self._signer = PdfSigner(metadata, signer=signer)
        # the room the signature takes, measured on the first PDF: the same key makes
        # signatures of one size, so later PDFs skip pyHanko's dummy signature
        self._reserved: int | None = None

    def sign(self, pdf: bytes) -> bytes:
        """The PDF, signed by an incremental update (the drawn page stays byte for byte)."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

        try:
            writer = IncrementalPdfFileWriter(BytesIO(pdf))
            signed = self._signer.sign_pdf(writer, bytes_reserved=self._reserved)
        except Exception as exc:
            said = _("the certificate could not be signed ({reason})").format(
                reason=f"{type(exc).__name__}: {exc}"
            )
            raise SigningFailed(f"{self.where}: {said}") from exc
        if self._reserved is None:
            self._reserved = _reserved_size(signed.getvalue())
        return bytes(signed.getvalue())


def _keep_key_open(signer: Any) -> None:
    """pyHanko's SimpleSigner parses (and checks) its private key again for every signature:
    for RSA that is most of a signature's cost. The common mechanisms use the key parsed
    once; any other goes on through pyHanko's own code."""
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.serialization import load_der_private_key
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    key = load_der_private_key(signer.signing_key.dump(), password=None)
    pyhanko_sign_raw = signer.sign_raw

    def sign_raw(data: bytes, digest_algorithm: str) -> bytes:
        mechanism = signer.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algorithm = mechanism.signature_algo
        except ValueError:
            algorithm = mechanism["algorithm"].native
        hashed = get_pyca_cryptography_hash(digest_algorithm)
        if algorithm == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashed)
        if algorithm == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(hashed))
        return bytes(pyhanko_sign_raw(data, digest_algorithm))

    signer.sign_raw = sign_raw


def _reserved_size(pdf: bytes) -> int | None:
    """The room the first signature reserved: its /Contents hex string's length (pyHanko
    counts `bytes_reserved` in hex digits)."""
    start = pdf.rfind(b"/Contents <")
    end = pdf.find(b">", start)
    return end - start - len(b"/Contents <") if start >= 0 and end > start else None


def key_file(config: Config, sign: Sign) -> Path:
    """The PKCS#12 file, relative to actions.yaml as the templates folder is."""
    path = Path(sign.pkcs12).expanduser()
    return path if path.is_absolute() else config.path.parent / path


def open_signing(config: Config) -> Signing | None:
    """The run's signing key (None without `certificates.sign`); ConfigError with every
    problem in opening it, located at actions.yaml's `sign:`."""
    signing, problems = load_signing(config)
    if problems:
        raise ConfigError(str(config.path), problems, hint=_("run certify validate"))
    return signing


def load_signing(config: Config) -> tuple[Signing | None, list[str]]:
    """The key of `certificates.sign` opened, or what stops it from signing as located
    lines (for `validate`, which reports every problem at once)."""
    sign = config.settings.certificates.sign
    if sign is None:
        return None, []
    at_file = config.where("certificates", "sign", "pkcs12")
    at_password = config.where("certificates", "sign", "password_env")
    path = key_file(config, sign)
    problems = []
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(
            _("{at}: certificates.sign.pkcs12: {path} not found; make one with {how}").format(
                at=at_file, path=path, how=MAKE_ONE
            )
        )
    except OSError as exc:
        problems.append(
            _("{at}: certificates.sign.pkcs12: cannot read {path} ({reason})").format(
                at=at_file, path=path, reason=os_reason(exc)
            )
        )
    password = os.environ.get(sign.password_env)
    if password is None:
        problems.append(
            _(
                "{at}: certificates.sign.password_env: the environment variable {name} is not "
                "set; set it to the password of {path} where certify runs (the crontab line too)"
            ).format(at=at_password, name=sign.password_env, path=path.name)
        )
    if problems:
        return None, problems
    try:
        with warnings.catch_warnings():
            # pyHanko imports DSA support, which cryptography warns about on every run
            warnings.simplefilter("ignore")
            from pyhanko.sign.signers import SimpleSigner
    except ImportError:
        where = config.where("certificates", "sign")
        return None, [
            _(
                "{at}: certificates.sign: signing needs pyHanko, which is not installed: "
                "{pip} (with pipx: {pipx})"
            ).format(at=where, pip=PIP, pipx=PIPX)
        ]
    passphrase = (password or "").encode("utf-8") or None
    problem = _key_problem(data, passphrase, sign, path)
    if problem:
        field, text = problem
        return None, [f"{config.where('certificates', 'sign', field)}: {text}"]
    signer = SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=passphrase)
    return Signing(signer, config.where("certificates", "sign")), []


def _key_problem(
    data: bytes, passphrase: bytes | None, sign: Sign, path: Path
) -> tuple[str, str] | None:
    """(field, why) the file cannot sign: not PKCS#12, a password that does not open it, no
    key or certificate in it, or a certificate readers would reject today; None: it can."""
    from asn1crypto import pkcs12 as asn1_pkcs12
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        key, certificate, _others = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError:
        try:
            asn1_pkcs12.Pfx.load(data, strict=True).native  # noqa: B018 (parsed for the check)
        except (ValueError, TypeError):
            return "pkcs12", _(
                "certificates.sign.pkcs12: {path} is not a PKCS#12 file (.p12, .pfx); make one "
                "with {how}"
            ).format(path=path, how=MAKE_ONE)
        return "password_env", _(
            "certificates.sign.password_env: the password in {name} does not open {path}"
        ).format(name=sign.password_env, path=path.name)
    if key is None or certificate is None:
        return "pkcs12", _(
            "certificates.sign.pkcs12: {path} holds no private key with its certificate; "
            "make one with {how}"
        ).format(path=path, how=MAKE_ONE)
    if certificate.not_valid_after_utc < datetime.now(UTC):
        return "pkcs12", _(
            "certificates.sign.pkcs12: the certificate in {path} expired on {day}; readers "
            "would call the signature invalid: renew it"
        ).format(path=path.name, day=certificate.not_valid_after_utc.date().isoformat())
    return None
