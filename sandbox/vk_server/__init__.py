"""VK API sandbox: serves generated data in VK API 5.199's wire format (see docs/vk-sandbox.md)."""

from sandbox.vk_server.server import VkSandbox, VkSandboxServer, serve

__all__ = ["VkSandbox", "VkSandboxServer", "serve"]
