"""Injectable faults for reliability tests: 5xx answers, slow answers, dropped connections,
bursts of error 6 and 29 and captcha (error 14)."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("http_5xx", "slow", "drop", "error_6", "error_29", "captcha")


@dataclass
class Fault:
    """One fault: applies to the next ``count`` matching requests, or to each with ``probability``.

    ``token`` limits it to one token (``None``: any); ``seconds`` is the delay of ``slow``;
    ``status`` the HTTP status of ``http_5xx``.
    """

    kind: str
    count: int | None = None
    probability: float | None = None
    seconds: float = 0.0
    status: int = 500
    token: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.count is None and self.probability is None:
            self.count = 1
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("probability must be within 0..1")
        if self.kind == "http_5xx" and not 500 <= self.status <= 599:
            raise ValueError("status of http_5xx must be 500..599")
        if self.kind == "slow" and self.seconds <= 0:
            raise ValueError("slow needs seconds > 0")

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        if out["token"]:
            out["token"] = out["token"][:4] + "…"
        return out


class FaultBook:
    """The active faults; ``take(kind, token)`` consumes one matching fault if it fires."""

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

    def configure(self, payload: dict[str, Any]) -> None:
        """Apply an admin request: ``clear``, ``seed``, then one fault or ``faults``."""
        if payload.get("clear"):
            self.clear()
        if "seed" in payload:
            self.seed(payload["seed"])
        single = {k: v for k, v in payload.items() if k not in ("clear", "seed")}
        for spec in payload.get("faults", [single] if "kind" in payload else []):
            self.add(Fault(**spec))

    def seed(self, seed: int | None) -> None:
        """Restart the draws of probabilistic faults from ``seed`` (repeatable storms)."""
        with self._lock:
            self._random.seed(seed)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.public() for f in self._faults]

    def take(self, kind: str, token: str | None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind != kind or (fault.token is not None and fault.token != token):
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
                if self._random.random() < (fault.probability or 0.0):
                    return fault
            return None
