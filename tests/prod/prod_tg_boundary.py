"""``extra.boundary`` of test-prod's Telegram connection: the sandbox, built in the task's process.

``make demo`` installs the Telegram sandbox in its own process (``dag.test()`` runs the tasks
there). In the compose topology a Celery worker runs each task in a process of its own, and the
sandbox has no server to reach (it stands where Telethon's MTProto sender stands), so each task
that reads Telegram builds it here: the world of ``GOSPUBLIC_PROD_TG_DATA``, the demo's application
and reading account (``sandbox/demo.py``), and the clock the driver last wrote to
``GOSPUBLIC_PROD_TG_CLOCK`` (tests/prod/topology.py, ``ADDED``). The same connection without the
boundary is what a production deployment sets.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any


def sandbox_clock() -> datetime:
    """The clock the driver wrote for the run being made."""
    return datetime.fromisoformat(json.loads(Path(os.environ["GOSPUBLIC_PROD_TG_CLOCK"]).read_text())["now"])


def reader_options() -> dict[str, Any]:
    """The reader's ``client_factory``, ``sleep`` and ``clock``, from a sandbox of this process."""
    from sandbox import demo
    from sandbox.tg_sandbox import TelegramSandbox

    sandbox = TelegramSandbox.from_data(
        os.environ["GOSPUBLIC_PROD_TG_DATA"],
        api_id=demo.TG_API_ID,
        api_hash=demo.TG_API_HASH,
        sessions=[demo.tg_session()],
    )
    sandbox.set_clock(sandbox_clock())
    return sandbox.reader_options()
