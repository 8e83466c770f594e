"""API tokens: random secrets shown once, stored as SHA-256 hashes, each scoping one project."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["new_token", "hash_token", "parse_authorization"]


def new_token() -> str:
    """A new random token (``hi_`` + 40 hex digits)."""
    return "hi_" + secrets.token_hex(20)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_authorization(header: str | None) -> str | None:
    """The token of an ``Authorization: Token …`` (or ``Bearer …``) header, else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() not in ("token", "bearer") or not value.strip():
        return None
    return value.strip()
