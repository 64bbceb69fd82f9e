"""The options that choose how messages go out (`--transport`, `--out`, `--smtp-*`), declared
once for every command that sends, and handed to it as one `TransportChoice`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer

if TYPE_CHECKING:
    from certify.config import Config
    from certify.deliver.transports import Transport

Command = TypeVar("Command", bound=Callable[..., Any])

TransportOption = Annotated[
    Literal["dir", "smtp"] | None,
    typer.Option(
        "--transport",
        case_sensitive=False,
        metavar="[dir|smtp]",
        help=".eml files in a folder, or SMTP [default: actions.yaml's delivery.transport].",
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out", metavar="FOLDER", help="With --transport dir: the folder for .eml files."
    ),
]
SmtpHostOption = Annotated[
    str | None,
    typer.Option("--smtp-host", envvar="CERTIFY_SMTP_HOST", metavar="HOST", help="SMTP server."),
]
SmtpPortOption = Annotated[
    int | None,
    typer.Option("--smtp-port", envvar="CERTIFY_SMTP_PORT", metavar="PORT", help="SMTP port."),
]
SmtpSecurityOption = Annotated[
    Literal["starttls", "ssl", "none"] | None,
    typer.Option(
        "--smtp-security",
        envvar="CERTIFY_SMTP_SECURITY",
        case_sensitive=False,
        metavar="MODE",
        help="starttls, ssl or none [default: actions.yaml's smtp.security, else starttls].",
    ),
]
SmtpUserOption = Annotated[
    str | None,
    typer.Option(
        "--smtp-user",
        envvar="CERTIFY_SMTP_USER",
        metavar="NAME",
        help="SMTP login; the password comes only from CERTIFY_SMTP_PASSWORD.",
    ),
]
SmtpCaFileOption = Annotated[
    Path | None,
    typer.Option(
        "--smtp-ca-file",
        envvar="CERTIFY_SMTP_CA_FILE",
        metavar="FILE",
        help="Trust this CA for the server.",
    ),
]


@dataclass(frozen=True, slots=True)
class TransportChoice:
    """What the command line says of the transport; unset options leave it to the
    CERTIFY_SMTP_* variables (read by the options) and actions.yaml."""

    transport: str | None = None
    out_dir: Path | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: str | None = None
    smtp_user: str | None = None
    smtp_ca_file: Path | None = None

    def pick(self, config: Config) -> Transport:
        """The transport the options, CERTIFY_SMTP_* variables and actions.yaml choose."""
        from certify.deliver.transports import choose_transport

        return choose_transport(
            config,
            transport=self.transport,
            out=self.out_dir,
            smtp_host=self.smtp_host,
            smtp_port=self.smtp_port,
            smtp_security=self.smtp_security,
            smtp_user=self.smtp_user,
            smtp_ca_file=self.smtp_ca_file,
        )


def _transport_choice(
    transport: TransportOption = None,
    out_dir: OutOption = None,
    smtp_host: SmtpHostOption = None,
    smtp_port: SmtpPortOption = None,
    smtp_security: SmtpSecurityOption = None,
    smtp_user: SmtpUserOption = None,
    smtp_ca_file: SmtpCaFileOption = None,
) -> TransportChoice:
    """The options as Typer reads them (its parameters are the options), as one value."""
    return TransportChoice(
        transport, out_dir, smtp_host, smtp_port, smtp_security, smtp_user, smtp_ca_file
    )


def with_transport_options(command: Command) -> Command:
    """Give a command the transport options where its `via: TransportChoice` parameter
    stands (the help lists them there), and call it with them gathered into `via`."""
    options = inspect.signature(_transport_choice, eval_str=True).parameters
    own = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in own.parameters.values():
        parameters.extend(options.values() if parameter.name == "via" else [parameter])

    @functools.wraps(command)
    def gathered(**given: Any) -> Any:
        via = _transport_choice(**{name: given.pop(name) for name in options})
        return command(via=via, **given)

    del gathered.__wrapped__  # Typer reads the new signature, not the command's
    gathered.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
    gathered.__annotations__ = {p.name: p.annotation for p in parameters}
    return gathered  # type: ignore[return-value]
