"""The `smtp:` and `delivery:` sections of actions.yaml: the mail server, and the transport a
run uses when the command line names none."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from certify.yamlfile import Strict


class Smtp(Strict):
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    timeout: float = Field(30.0, gt=0)
    ca_file: str | None = None


class Delivery(Strict):
    transport: Literal["smtp", "dir"] | None = None
    out: str | None = None
