"""The `certificates:` section of actions.yaml: where a certificate is verified, and who
issues it."""

from __future__ import annotations

from pydantic import Field, field_validator

from certify.yamlfile import Strict


class Certificates(Strict):
    verify_url: str | None = Field(
        None,
        description="the verification page of a certificate, with {code} where its code goes: "
        "https://example.org/certificaat/{code}",
    )
    issuer: str = Field("", description="who issues the certificates, as verification shows it")

    @field_validator("verify_url")
    @classmethod
    def _has_code(cls, value: str | None) -> str | None:
        if value is not None and "{code}" not in value:
            raise ValueError(
                f"{value!r} has no {{code}}: write where the code goes, "
                "such as https://example.org/certificaat/{code}"
            )
        return value

    def url_for(self, shown_code: str) -> str:
        """The verification URL of one certificate (empty without a `verify_url`)."""
        return self.verify_url.replace("{code}", shown_code) if self.verify_url else ""
