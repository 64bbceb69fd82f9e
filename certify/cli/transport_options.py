"""The options that choose how messages go out (`--transport`, `--out`, `--smtp-*`), declared
once for every command that sends, and handed to it as one `TransportChoice`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, get_type_hints

import typer

if TYPE_CHECKING:
    from certify.config import Config
    from certify.deliver.transports import Transport

Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class TransportChoice:
    """What the command line says of the transport, each field an option of the commands
    that send; unset options leave it to the CERTIFY_SMTP_* variables and actions.yaml."""

    transport: Annotated[
        Literal["dir", "smtp"] | None,
        typer.Option(
            "--transport",
            case_sensitive=False,
            metavar="[dir|smtp]",
            help=".eml files in a folder, or SMTP [default: actions.yaml's delivery.transport].",
        ),
    ] = None
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FOLDER", help="With --transport dir: the folder for .eml files."
        ),
    ] = None
    smtp_host: Annotated[
        str | None,
        typer.Option(
            "--smtp-host", envvar="CERTIFY_SMTP_HOST", metavar="HOST", help="SMTP server."
        ),
    ] = None
    smtp_port: Annotated[
        int | None,
        typer.Option("--smtp-port", envvar="CERTIFY_SMTP_PORT", metavar="PORT", help="SMTP port."),
    ] = None
    smtp_security: Annotated[
        Literal["starttls", "ssl", "none"] | None,
        typer.Option(
            "--smtp-security",
            envvar="CERTIFY_SMTP_SECURITY",
            case_sensitive=False,
            metavar="MODE",
            help="starttls, ssl or none [default: actions.yaml's smtp.security, else starttls].",
        ),
    ] = None
    smtp_user: Annotated[
        str | None,
        typer.Option(
            "--smtp-user",
            envvar="CERTIFY_SMTP_USER",
            metavar="NAME",
            help="SMTP login; the password comes only from CERTIFY_SMTP_PASSWORD.",
        ),
    ] = None
    smtp_ca_file: Annotated[
        Path | None,
        typer.Option(
            "--smtp-ca-file",
            envvar="CERTIFY_SMTP_CA_FILE",
            metavar="FILE",
            help="Trust this CA for the server.",
        ),
    ] = None

    def pick(self, config: Config) -> Transport:
        """The transport the options, CERTIFY_SMTP_* variables and actions.yaml choose."""
        from certify.deliver.transports import choose_transport

        # the fields are choose_transport's keyword arguments, by name
        return choose_transport(config, **asdict(self))


def with_transport_options(command: Command) -> Command:
    """Give a command the transport options where its `via: TransportChoice` parameter
    stands (the help lists them there), and call it with them gathered into `via`."""
    hints = get_type_hints(TransportChoice, include_extras=True)
    options = [
        inspect.Parameter(
            name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=hint
        )
        for name, hint in hints.items()
    ]
    own = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in own.parameters.values():
        parameters.extend(options if parameter.name == "via" else [parameter])

    @functools.wraps(command)
    def gathered(**given: Any) -> Any:
        via = TransportChoice(**{name: given.pop(name) for name in hints})
        return command(via=via, **given)

    del gathered.__wrapped__  # Typer reads the new signature, not the command's
    gathered.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
    gathered.__annotations__ = {p.name: p.annotation for p in parameters}
    return gathered  # type: ignore[return-value]
