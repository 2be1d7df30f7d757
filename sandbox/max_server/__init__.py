"""MAX Bot API sandbox: serves the generator's MAX world in the Bot API's wire format
(``GET /chats/{chatId}``, ``GET /messages``, ``Authorization`` header, JSON errors with HTTP
codes); see docs/networks.md."""

from sandbox.max_server.server import MaxSandbox, MaxSandboxServer, serve

__all__ = ["MaxSandbox", "MaxSandboxServer", "serve"]
