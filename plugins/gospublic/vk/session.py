"""A ``requests`` session that sends ``vk_api``'s calls to a VK-compatible base URL (the sandbox).

``vk_api`` always posts to ``https://api.vk.ru/method/<name>``. With a base URL, the session
mounts a transport adapter on ``https://api.vk.ru/`` (and ``https://api.vk.com/``) that rewrites
each request to ``<base_url>/method/<name>``, keeping the path and query, so
``vk_api.VkApi(token=..., api_version="5.199", session=make_session(url))`` works unchanged.

Access tokens travel in the POST body (and sometimes the query): nothing here logs a request
body or a query string.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

VK_API_ORIGINS = ("https://api.vk.ru/", "https://api.vk.com/")
DEFAULT_TIMEOUT = (5.0, 30.0)  # seconds to connect, to read an answer


class TimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout unless the caller set one: a hung socket must not hang a task."""

    def __init__(self, timeout: tuple[float, float] = DEFAULT_TIMEOUT, **kwargs: Any) -> None:
        self.timeout = timeout
        super().__init__(**kwargs)

    # requests' Session.send passes an adapter its options as keywords only, the way this takes them.
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class RebaseAdapter(TimeoutAdapter):
    """Sends each request to ``base_url`` instead of the URL's own origin."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("VK base URL must look like http://host:port (scheme and host required)")
        if parts.query or parts.fragment:
            raise ValueError("VK base URL must not have a query or fragment")
        self.scheme, self.netloc, self.prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")
        super().__init__(**kwargs)

    def rebase(self, url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit((self.scheme, self.netloc, self.prefix + parts.path, parts.query, parts.fragment))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        request = request.copy()
        request.url = self.rebase(request.url or "")
        return super().send(request, **kwargs)


def make_session(
    base_url: str | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> requests.Session:
    """A session for ``vk_api.VkApi``; with ``base_url`` its VK API calls go there instead of VK."""
    session = requests.Session()
    session.mount("https://", TimeoutAdapter(timeout))
    session.mount("http://", TimeoutAdapter(timeout))
    if base_url:
        adapter = RebaseAdapter(base_url.strip(), timeout=timeout)
        for origin in VK_API_ORIGINS:
            session.mount(origin, adapter)
        log.info("VK API calls go to %s://%s%s", adapter.scheme, adapter.netloc, adapter.prefix)
    return session
