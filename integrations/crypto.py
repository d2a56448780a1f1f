"""Encryption at rest for Clever bearer tokens.

A token lets anyone read a district's whole roster, so the database only ever holds it encrypted.
Keys come from ``settings.FIELD_ENCRYPTION_KEYS`` (Fernet keys, newest first: rotating means
adding a new key in front, and old tokens still decrypt). With no keys configured, one key is
derived from ``SECRET_KEY`` so development needs no setup.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokenDecryptError(Exception):
    """The stored token cannot be read with the configured keys (keys rotated away)."""

    admin_message = (
        "The stored Clever token can no longer be read (the encryption keys changed). "
        "Enter the token again in Clever Data Integration Setup."
    )


def _derived_key(secret: str) -> bytes:
    digest = hashlib.sha256(f"naviance-sync:clever-token:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    keys = [k for k in (getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or []) if k]
    if not keys:
        keys = [_derived_key(settings.SECRET_KEY)]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be Fernet keys (Fernet.generate_key()), comma-separated."
        ) from exc


def encrypt_token(token: str) -> str:
    """The token encrypted with the newest key, as text for a TextField."""
    return _fernet().encrypt(token.encode("utf-8")).decode("ascii")


def decrypt_token(encrypted: str) -> str:
    if not encrypted:
        return ""
    try:
        return _fernet().decrypt(encrypted.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise TokenDecryptError(TokenDecryptError.admin_message) from exc


def token_last4(token: str) -> str:
    """What the pages show of a token: its last four characters."""
    return token.strip()[-4:]


def mask_token(last4: str) -> str:
    return f"…{last4}" if last4 else ""
