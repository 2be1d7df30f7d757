"""OK REST API errors as the sandbox answers them: HTTP 200 with
``{"error_code": N, "error_msg": "NAME : detail", "error_data": null}``.

Codes and names as OK's SDKs and documentation list them (docs/networks.md says which were seen
in the stored copy of apiok.ru and which were not).
"""

from __future__ import annotations

from typing import Any

NAMES = {
    1: "UNKNOWN",
    2: "SERVICE",
    3: "METHOD",
    8: "FLOOD_BLOCKED",
    10: "PERMISSION_DENIED",
    11: "LIMIT_REACHED",
    100: "PARAM",
    101: "PARAM_API_KEY",
    102: "PARAM_SESSION_EXPIRED",
    104: "PARAM_SIGNATURE",
    300: "NOT_FOUND",
}


class OkError(Exception):
    """An error answer of the OK API."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        name = NAMES.get(code, NAMES[1])
        self.msg = f"{name} : {detail}" if detail else name
        super().__init__(f"[{code}] {self.msg}")

    def payload(self) -> dict[str, Any]:
        return {"error_code": self.code, "error_msg": self.msg, "error_data": None}
