"""Alert channels for tests: an SMTP server in the test process (``smtp_server``: the messages it
received) and a stub of the Telegram Bot API (``telegram_stub``: the ``sendMessage`` bodies), each
set as its Airflow connection (``gospublic_smtp``, ``gospublic_telegram``). Import the fixtures
into a test module to use them."""

from __future__ import annotations

import email
import json
import socketserver
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

BOT_TOKEN = "123456:bot-Token-Qw9Er8Ty7"
CHAT_ID = "-1001234"


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greet, accept one message per DATA, keep it."""

    def handle(self) -> None:
        self.wfile.write(b"220 localhost test SMTP\r\n")
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (chunk := self.rfile.readline()) and chunk != b".\r\n":
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.messages.append(email.message_from_bytes(data))  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class _Threaded(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Message]]:
    server = _Threaded(("127.0.0.1", 0), _SmtpHandler)
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": server.server_address[1],
        "extra": {
            "from_email": "gospublic@example.ru",
            "to": "duty@example.ru, analyst@example.ru",
            "disable_tls": True,
            "disable_ssl": True,
            "timeout": 10,
            "retry_limit": 0,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_SMTP", json.dumps(conn))
    yield server.messages  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


@pytest.fixture
def telegram_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ok = self.path == f"/bot{BOT_TOKEN}/sendMessage"
            received.append({"path": self.path, **body})
            answer = json.dumps({"ok": ok, "result": {"message_id": len(received)}}).encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = {
        "conn_type": "http",
        "host": f"http://127.0.0.1:{server.server_address[1]}",
        "password": BOT_TOKEN,
        "extra": {"chat_id": CHAT_ID},
    }
    monkeypatch.setenv("AIRFLOW_CONN_GOSPUBLIC_TELEGRAM", json.dumps(conn))
    yield received
    server.shutdown()
    server.server_close()


def subject_of(message: Message) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


def mail_text(message: Message) -> str:
    import html
    import re

    part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    raw = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    return html.unescape(re.sub(r"<[^>]+>", "", raw))
