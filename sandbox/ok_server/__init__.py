"""OK (Odnoklassniki) REST API sandbox: serves the generator's OK world in OK's wire format
(``/fb.do?method=...``, signed requests, JSON errors); see docs/networks.md."""

from sandbox.ok_server.server import OkSandbox, OkSandboxServer, serve

__all__ = ["OkSandbox", "OkSandboxServer", "serve"]
