"""The command line of certify; each module adds a group of commands to one Typer app."""

from certify.cli import (  # noqa: F401  (each registers its commands)
    byhand,
    data,
    delivery,
    insight,
    monitoring,
    privacy,
    register,
    starting,
)
from certify.cli.app import app, main

__all__ = ["app", "main"]
