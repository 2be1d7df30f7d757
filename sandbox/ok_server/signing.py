"""OK's request signature (``sig``), checked by the sandbox; written apart from the client's own
implementation on purpose, so that one mistake cannot hide in both.

The rule (apiok.ru, «Расчёт подписи запроса»): take every request parameter except ``sig`` and
``access_token``/``session_key``; sort them by name; concatenate ``name=value`` with nothing
between; append the secret key and take the lowercase hex MD5. The secret key is the session's
``session_secret_key``; for a call in an OAuth session without one it is
``MD5(access_token + application_secret_key)`` (lowercase); for a call without a session it is
the ``application_secret_key``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

UNSIGNED = frozenset({"sig", "access_token", "session_key"})


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().lower()


def expected_signatures(
    params: Mapping[str, str], application_secret_key: str, session_secret_key: str | None = None
) -> set[str]:
    """The signatures the sandbox accepts for ``params`` (one per way the secret may be made)."""
    payload = "".join(f"{name}={params[name]}" for name in sorted(params) if name not in UNSIGNED)
    token = params.get("access_token") or params.get("session_key")
    secrets = {application_secret_key} if not token else {_md5(token + application_secret_key)}
    if token and session_secret_key:
        secrets.add(session_secret_key)
    return {_md5(payload + secret) for secret in secrets}
