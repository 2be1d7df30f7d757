"""The key of citizens' pseudonyms (see ``transforms.pseudonymize``).

Read from the password of the Airflow connection ``gospublic_pseudonym``. On the embedded setup,
when that connection is not defined, a random key is created once in ``var/secrets/`` (mode
0600) so that pseudonyms stay stable between runs; production must define the connection (a key
that changes breaks the continuity of pseudonyms, and a key that leaks lets ids be confirmed).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable

from gospublic.infra import settings
from gospublic.infra.connections import get_connection, mask_secret
from transforms.pseudonymize import make_pseudonymizer

log = logging.getLogger(__name__)


def pseudonym_key() -> bytes:
    info = get_connection(settings.CONN_PSEUDONYM)
    if info is not None and info.password:
        return info.password.encode("utf-8")
    path = settings.var_dir() / "secrets" / "pseudonym.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        log.warning(
            "connection %s undefined: created a local pseudonym key in %s", settings.CONN_PSEUDONYM, path
        )
    key = path.read_text().strip()
    mask_secret(key)  # read from a file, so Airflow knows nothing of it
    return key.encode("utf-8")


def pseudonymizer() -> Callable[[str], str]:
    return make_pseudonymizer(pseudonym_key())
