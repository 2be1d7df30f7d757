"""Faults the MAX sandbox can be told to make: 5xx answers, slow answers, dropped connections,
bursts of 429 (too many requests), and a chat's own permanent error."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("http_5xx", "slow", "drop", "http_429", "chat_error")


@dataclass
class Fault:
    """One fault: the next ``count`` matching requests, or each with ``probability``.

    ``seconds`` is the delay of ``slow``; ``status`` the HTTP status of ``http_5xx`` (500..599)
    or of ``chat_error`` (400..499, default 404, with the error key ``code``); ``chat_id`` the chat
    of ``chat_error`` (which lasts until cleared unless a ``count`` is given); ``method``
    (``getChat`` or ``getMessages``) limits a fault to one API method.
    """

    kind: str
    count: int | None = None
    probability: float | None = None
    seconds: float = 0.0
    status: int | None = None
    chat_id: int | None = None
    code: str = "not.found"
    method: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.kind == "chat_error":
            if self.chat_id is None:
                raise ValueError("chat_error needs chat_id")
            self.chat_id = int(self.chat_id)
            self.status = 404 if self.status is None else self.status
            if not 400 <= self.status <= 499:
                raise ValueError("status of chat_error must be 400..499")
            if self.count is None and self.probability is None:
                self.probability = 1.0
        if self.kind == "http_5xx":
            self.status = 503 if self.status is None else self.status
            if not 500 <= self.status <= 599:
                raise ValueError("status of http_5xx must be 500..599")
        if self.count is None and self.probability is None:
            self.count = 1
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("probability must be within 0..1")
        if self.kind == "slow" and self.seconds <= 0:
            raise ValueError("slow needs seconds > 0")


class FaultBook:
    """The active faults; ``take(kind, method, chat_id)`` consumes one matching fault if it fires."""

    def __init__(self, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def seed(self, seed: int | None) -> None:
        with self._lock:
            self._random.seed(seed)

    def configure(self, payload: dict[str, Any]) -> None:
        """An admin request: ``clear``, ``seed``, then one fault or ``faults``."""
        if payload.get("clear"):
            self.clear()
        if "seed" in payload:
            self.seed(payload["seed"])
        single = {k: v for k, v in payload.items() if k not in ("clear", "seed")}
        for spec in payload.get("faults", [single] if "kind" in payload else []):
            self.add(Fault(**spec))

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, kind: str, method: str | None = None, chat_id: int | None = None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind != kind or (fault.method is not None and fault.method != method):
                    continue
                if fault.chat_id is not None and fault.chat_id != chat_id:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
                if self._random.random() < (fault.probability or 0.0):
                    return fault
            return None
