"""OK's request signature ``sig`` (apiok.ru, «Расчёт подписи запроса»).

``sig = md5(<name=value of every parameter but sig and access_token/session_key, sorted by name,
concatenated> + secret_key)`` in lowercase hex, where ``secret_key`` is the session secret key,
or ``md5(access_token + application_secret_key)`` for an OAuth session without one, or the
application secret key for a call without a session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

UNSIGNED = frozenset({"sig", "access_token", "session_key"})


def md5_hex(text: str) -> str:
    """Lowercase hex MD5 of the UTF-8 text."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def signing_secret(
    *, application_secret_key: str | None, access_token: str | None, session_secret_key: str | None
) -> str:
    """The secret key that ends the signed string (see the module docstring)."""
    if access_token:
        if session_secret_key:
            return session_secret_key
        if application_secret_key:
            return md5_hex(access_token + application_secret_key)
        raise ValueError("a call in a session needs its session_secret_key or the application_secret_key")
    if not application_secret_key:
        raise ValueError("a call without a session needs the application_secret_key")
    return application_secret_key


def sign(params: Mapping[str, str], secret: str) -> str:
    """The ``sig`` of ``params`` (values already as sent) with the signing ``secret``."""
    payload = "".join(f"{name}={params[name]}" for name in sorted(params) if name not in UNSIGNED)
    return md5_hex(payload + secret)
