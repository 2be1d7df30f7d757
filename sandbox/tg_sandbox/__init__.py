"""The Telegram sandbox: Telethon's own client answered at its request boundary from a generated
Telegram world (``sandbox/generator/tg_pages.py``). MTProto itself (TCP, auth-key exchange,
encryption, TL serialization) is not emulated; see docs/networks.md, "The Telegram sandbox"."""

from sandbox.tg_sandbox.client import SandboxTelegramClient, TelegramSandbox, install, reader_options

__all__ = ["SandboxTelegramClient", "TelegramSandbox", "install", "reader_options"]
