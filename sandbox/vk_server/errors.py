"""VK API errors as the sandbox answers them (codes and texts from the official errors.json)."""

from __future__ import annotations

from typing import Any

MESSAGES = {
    1: "Unknown error occurred",
    3: "Unknown method passed",
    5: "User authorization failed",
    6: "Too many requests per second",
    10: "Internal server error",
    12: "Unable to compile code",
    13: "Runtime error occurred during code invocation",
    14: "Captcha needed",
    15: "Access denied",
    18: "User was deleted or banned",
    28: "Application authorization failed",
    29: "Rate limit reached",
    30: "This profile is private",
    100: "One of the parameters specified was missing or invalid",
}

# What VK says after the colon for page-level errors read from the data (``_sandbox_error``).
PAGE_ERROR_DETAILS = {
    15: "this wall available only for community members",
    18: "group is blocked or deleted",
    30: "",
    100: "owner_id is incorrect",
}


class VkError(Exception):
    """An error answer: ``{"error": {"error_code", "error_msg", ...}}``."""

    def __init__(self, code: int, detail: str = "", **extra: Any) -> None:
        base = MESSAGES.get(code, MESSAGES[1])
        self.code = code
        self.msg = f"{base}: {detail}" if detail else base
        self.extra = extra
        super().__init__(f"[{code}] {self.msg}")

    def payload(self, request_params: list[dict[str, str]] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"error_code": self.code, "error_msg": self.msg, **self.extra}
        if request_params is not None:
            body["request_params"] = request_params
        return body
