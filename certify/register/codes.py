"""Verification codes: 12 symbols of Crockford's base 32 (60 bits from `secrets`), shown as
`XXXX-XXXX-XXXX` and read the way people type them back."""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
LENGTH = 12
# what people type for what they read: I and L look like 1, O like 0
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_NUMBER = re.compile(r"^\d{4}-\d{6}-\d$")


def new_code() -> str:
    """A fresh code, 60 bits from the operating system's cryptographic source, as stored."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """`ABCD-EFGH-JKMN`: the code as printed, in groups of four."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def read_code(text: str) -> str | None:
    """The stored form of a typed code (any case, hyphens or spaces, I/L for 1, O for 0);
    None when it cannot be one."""
    cleaned = re.sub(r"[\s-]", "", text).upper().translate(_READ_AS)
    if len(cleaned) != LENGTH or any(char not in ALPHABET for char in cleaned):
        return None
    return cleaned


def is_number(text: str) -> bool:
    """Does `text` look like a certificate number (`2026-000123-4`)?"""
    return bool(_NUMBER.match(text.strip()))
