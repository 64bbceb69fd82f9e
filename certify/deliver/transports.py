"""Where messages go: `.eml` files in a folder, or an SMTP server. One small protocol.

The transport owns every security mode and classifies every failure, so the runner only
records results:
- TemporaryFailure: nothing was handed over; retry later (4xx, refused, dropped, timeout).
- PermanentFailure: this recipient will never work (5xx for it, invalid address).
- AmbiguousFailure: the whole message went out and the server went silent: maybe delivered.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from certify.errors import TransportConfigError, os_reason
from certify.locale import _

# loaded when mail goes out (by SMTP): a cron tick with nothing due never needs them
if TYPE_CHECKING:
    import smtplib
    import ssl

    from certify.render.message import Mail


class DeliveryFailure(Exception):
    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TemporaryFailure(DeliveryFailure):
    connection = False  # True when the server could not be reached at all


class ConnectionFailure(TemporaryFailure):
    connection = True


class PermanentFailure(DeliveryFailure):
    pass


class AmbiguousFailure(DeliveryFailure):
    pass


class Transport(Protocol):
    name: str

    def open(self) -> None:
        """Check the configuration; raise TransportConfigError for faults that fail everything."""

    def send(self, mail: Mail, file_name: str, before_handover: Callable[[], None]) -> None:
        """Deliver one message; raise a DeliveryFailure subclass when it was not accepted.

        A transport that cannot tell afterwards whether a message went out calls
        `before_handover` right before the step it cannot take back.
        """

    def make_durable(self) -> None:
        """Make what was handed over so far durable (called before the results are recorded)."""

    def was_delivered(self, file_name: str, message_id: str | None) -> bool | None:
        """After a crash during hand-over: True/False when the transport can tell, else None.

        `message_id` is the one the delivery was sent with (a forced resend has its own).
        """

    def close(self) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    user: str | None
    password: str | None
    timeout: float
    ca_file: str | None
    sender: str


class SmtpTransport:
    """One connection reused for many messages; reconnects when the server drops it."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        import ssl

        context = ssl.create_default_context(cafile=self.settings.ca_file)
        return context

    def _connect(self) -> smtplib.SMTP:
        import smtplib
        import ssl

        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise TransportConfigError(
                        _(
                            "the server {server} does not offer STARTTLS; "
                            "refusing to send in plain text"
                        ).format(server=f"{s.host}:{s.port}"),
                        hint=_(
                            "fix the server, or set smtp.security: ssl "
                            "(or none, on a trusted network)"
                        ),
                    )
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.user:
                if s.password is None:
                    raise TransportConfigError(
                        _("smtp user {user} is set but CERTIFY_SMTP_PASSWORD is not").format(
                            user=repr(s.user)
                        ),
                        hint=_("export CERTIFY_SMTP_PASSWORD in the environment of the cron job"),
                    )
                smtp.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportConfigError(
                _("the server refused the login for {user}: {reply}").format(
                    user=repr(s.user), reply=f"{exc.smtp_code} {_text(exc.smtp_error)}"
                ),
                hint=_("check smtp.user and CERTIFY_SMTP_PASSWORD"),
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise TransportConfigError(
                _("TLS certificate of {host} not trusted: {reason}").format(
                    host=s.host, reason=exc.verify_message
                ),
                hint=_(
                    "use the server's real host name, or give its CA with "
                    "smtp.ca_file / --smtp-ca-file"
                ),
            ) from None
        except ssl.SSLError as exc:
            raise TransportConfigError(
                _("TLS with {server} failed: {reason}").format(
                    server=f"{s.host}:{s.port}", reason=exc
                )
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TransportConfigError(f"{s.host}: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionFailure(
                _("cannot connect to {server}: {reason}").format(
                    server=f"{s.host}:{s.port}", reason=_unreachable(exc, s)
                )
            ) from None
        return smtp

    def open(self) -> None:
        self.smtp = self._connect()

    def send(self, mail: Mail, file_name: str, before_handover: Callable[[], None]) -> None:
        data, recipients, needs_utf8 = mail.data, mail.recipients, mail.smtputf8
        for attempt in (1, 2):
            if self.smtp is None:
                self.smtp = self._connect()
            try:
                self._transaction(self.smtp, data, recipients, needs_utf8, before_handover)
                return
            except _Dropped as dropped:
                # the server closed a reused connection between messages: reconnect once
                self._discard()
                if attempt == 2:
                    raise ConnectionFailure(str(dropped)) from None

    def _transaction(
        self,
        smtp: smtplib.SMTP,
        data: bytes,
        recipients: list[str],
        needs_utf8: bool,
        before_handover: Callable[[], None],
    ) -> None:
        import smtplib

        options: list[str] = []
        if needs_utf8:
            if not smtp.has_extn("smtputf8"):
                raise PermanentFailure(
                    _(
                        "the address has non-ASCII characters before the @ and the server "
                        "does not support SMTPUTF8"
                    )
                )
            options.append("SMTPUTF8")
        if smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        try:
            # the addresses are already bare, so the commands are written as they are
            smtp.command_encoding = "utf-8" if needs_utf8 else "ascii"
            extra = "".join(f" {option}" for option in options)
            smtp.putcmd("mail", f"FROM:<{self.settings.sender}>{extra}")
            code, reply = smtp.getreply()
            self._check(smtp, code, reply, "MAIL FROM")
            for recipient in recipients:
                smtp.putcmd("rcpt", f"TO:<{recipient}>")
                code, reply = smtp.getreply()
                self._check(smtp, code, reply, f"RCPT TO {recipient}", ok=(250, 251))
            code, reply = smtp.docmd("DATA")
            self._check(smtp, code, reply, "DATA", ok=(354,))
        except smtplib.SMTPServerDisconnected as exc:
            raise _Dropped(
                _("connection closed by the server: {reason}").format(reason=exc)
            ) from None
        except TimeoutError as exc:
            self._discard()
            raise TemporaryFailure(
                _("timed out before the message was handed over: {reason}").format(reason=exc)
            ) from None
        except OSError as exc:
            self._discard()
            raise ConnectionFailure(
                _("connection lost before the data: {reason}").format(reason=_describe(exc))
            ) from None
        before_handover()
        payload = re.sub(rb"(?m)^\.", b"..", data)
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        try:
            smtp.send(payload + b".\r\n")
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._discard()
            raise TemporaryFailure(
                _("connection lost while sending the data: {reason}").format(reason=_describe(exc))
            ) from None
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._discard()
            raise AmbiguousFailure(
                _(
                    "the server went silent after receiving the whole message ({reason}); "
                    "it may have been delivered"
                ).format(reason=_describe(exc))
            ) from None
        if 200 <= code < 300:
            return
        # never _Dropped here: the whole message went out, and resending it could double it
        text = _("end of data: {reply}").format(reply=f"{code} {_text(reply)}")
        if 400 <= code < 500:
            if code == 421:
                self._discard()
            raise TemporaryFailure(text, code)
        if 500 <= code < 600:
            raise PermanentFailure(text, code)
        # no reply code (smtplib's -1), a code cut short, or one that makes no sense here:
        # the message may have been accepted
        self._discard()
        raise AmbiguousFailure(
            _("{text}: not an answer to the end of the data; it may have been delivered").format(
                text=text
            ),
            code,
        )

    def _check(
        self, smtp: smtplib.SMTP, code: int, reply: bytes, step: str, ok: tuple[int, ...] = (250,)
    ) -> None:
        import smtplib

        if code in ok:
            return
        text = f"{step}: {code} {_text(reply)}"
        if code == 421 or not 400 <= code < 600:
            # closing, or no reply code (-1, a code cut short): the line is not to be trusted,
            # and nothing was handed over yet, so a new connection may try again
            self._discard()
            raise _Dropped(text)
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._discard()
        if 400 <= code < 500:
            raise TemporaryFailure(text, code)
        raise PermanentFailure(text, code)

    def _discard(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
        self.smtp = None

    def make_durable(self) -> None:
        pass  # what the server accepted is its business from then on

    def was_delivered(self, file_name: str, message_id: str | None) -> bool | None:
        return None

    def close(self) -> None:
        import smtplib

        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.smtp.quit()
            self._discard()


class _Dropped(Exception):
    pass


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


# getaddrinfo's answers for a name that does not exist (EAI_NODATA is not on every system)
_NAME_UNKNOWN = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _unreachable(exc: BaseException, s: SmtpSettings) -> str:
    """Why the mail server could not be reached, in words that point at what to check."""
    import smtplib

    if isinstance(exc, socket.gaierror):
        if exc.errno in _NAME_UNKNOWN:
            return _("the name is not known (check --smtp-host or smtp.host)")
        if exc.errno == socket.EAI_AGAIN:
            return _(
                "the name cannot be looked up now (check --smtp-host or smtp.host, and that "
                "this machine can reach a name server)"
            )
        return _("the name cannot be looked up ({reason}; check --smtp-host or smtp.host)").format(
            reason=exc.strerror or exc
        )
    if isinstance(exc, ConnectionRefusedError):
        return _(
            "connection refused: nothing listens on that port (check --smtp-port or "
            "smtp.port, and that the mail server runs)"
        )
    # smtplib turns a greeting that does not come into SMTPServerDisconnected
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return _(
            "timed out: no answer within {seconds} s (a firewall, or not the mail server's host "
            "and port? check --smtp-host/--smtp-port or smtp.host/smtp.port)"
        ).format(seconds=f"{s.timeout:g}")
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return _("{reason} (check this machine's network, and --smtp-host or smtp.host)").format(
            reason=os_reason(exc)
        )
    if isinstance(exc, smtplib.SMTPConnectError):
        return _("the server refused the connection: {reply}").format(
            reply=f"{exc.smtp_code} {_text(exc.smtp_error)}"
        )
    return _describe(exc)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return _("connection refused")
    if isinstance(exc, TimeoutError | socket.timeout):
        return _("timed out")
    return str(exc) or type(exc).__name__


def choose_transport(
    config: Any,
    *,
    transport: str | None,
    out: Path | None,
    smtp_host: str | None = None,
    smtp_port: int | None = None,
    smtp_security: str | None = None,
    smtp_user: str | None = None,
    smtp_ca_file: Path | None = None,
) -> Transport:
    """--transport, else actions.yaml's `delivery:`; never a silent default."""
    settings = config.settings
    name = transport or settings.delivery.transport
    if name is None:
        raise TransportConfigError(
            _("no transport chosen: nothing would be sent"),
            hint=_(
                "pass --transport smtp (with an smtp: section) or --transport dir --out DIR, "
                "or set delivery: {{transport: smtp}} in actions.yaml"
            ).format(),
        )
    if name == "dir":
        folder = out or (
            config.path.parent / settings.delivery.out if settings.delivery.out else None
        )
        if folder is None:
            raise TransportConfigError(
                _("--transport dir needs a folder"), hint=_("pass --out DIR or set delivery.out")
            )
        from certify.deliver.outbox import DirTransport

        return DirTransport(Path(folder))
    if name == "smtp":
        smtp = settings.smtp
        host = smtp_host or smtp.host
        if not host:
            raise TransportConfigError(
                _("--transport smtp needs a server"),
                hint=_("set smtp.host in actions.yaml, --smtp-host, or CERTIFY_SMTP_HOST"),
            )
        security = smtp_security or smtp.security
        if security not in ("starttls", "ssl", "none"):
            raise TransportConfigError(
                _("unknown SMTP security {security} (starttls, ssl, none)").format(
                    security=repr(security)
                )
            )
        port = smtp_port or smtp.port or (465 if security == "ssl" else 587)
        ca = str(smtp_ca_file) if smtp_ca_file else smtp.ca_file
        user = smtp_user or smtp.user
        if security == "none" and user and not _loopback(host):
            raise TransportConfigError(
                _(
                    "smtp security none would send the password of {user} to {host} in clear "
                    "text; refused"
                ).format(user=repr(user), host=host),
                hint=_(
                    "use --smtp-security starttls or ssl (smtp.security), or none only "
                    "with a server on this machine (localhost, 127.0.0.1, ::1)"
                ),
            )
        return SmtpTransport(
            SmtpSettings(
                host=host,
                port=port,
                security=security,
                user=user,
                password=os.environ.get("CERTIFY_SMTP_PASSWORD"),
                timeout=smtp.timeout,
                ca_file=ca,
                sender=_envelope_sender(settings.sender),
            )
        )
    raise TransportConfigError(_("unknown transport {name} (dir or smtp)").format(name=repr(name)))


def _envelope_sender(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1]


def _loopback(host: str) -> bool:
    """Is `host` this machine itself, where a password in clear text never leaves it?"""
    import ipaddress

    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
