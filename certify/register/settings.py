"""The `certificates:` section of actions.yaml: where a certificate is verified, who
issues it, and the key that signs it."""

from __future__ import annotations

from pydantic import Field, field_validator

from certify.locale import _
from certify.yamlfile import Strict


class Sign(Strict):
    pkcs12: str = Field(
        description="the PKCS#12 file (.p12, .pfx) with the signing key and its certificate, "
        "relative to actions.yaml"
    )
    password_env: str = Field(
        description="the environment variable that holds the PKCS#12 file's password "
        "(the password itself never goes in actions.yaml)",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )


class Certificates(Strict):
    verify_url: str | None = Field(
        None,
        description="the verification page of a certificate, with {code} where its code goes: "
        "https://example.org/certificaat/{code}",
    )
    issuer: str = Field("", description="who issues the certificates, as verification shows it")
    sign: Sign | None = Field(
        None,
        description="sign every certificate PDF (PAdES baseline B-B), so that readers can "
        "see it was not altered; needs certify[sign]",
    )

    @field_validator("verify_url")
    @classmethod
    def _has_code(cls, value: str | None) -> str | None:
        if value is not None and "{code}" not in value:
            raise ValueError(
                _(
                    "{value} has no {{code}}: write where the code goes, such as "
                    "https://example.org/certificaat/{{code}}"
                ).format(value=repr(value))
            )
        return value

    def url_for(self, shown_code: str) -> str:
        """The verification URL of one certificate (empty without a `verify_url`)."""
        return self.verify_url.replace("{code}", shown_code) if self.verify_url else ""
