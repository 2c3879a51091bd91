"""A cheap HTTP/1.1 client for load scripts: one keep-alive connection per simulated browser, requests
pre-built as bytes, answers read by Content-Length with no more parsing than a check needs. Several
times cheaper in CPU per request than httpx, so the load tool is not what gets measured (routing.py)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from harness import HOST


class Connection:
    """One keep-alive HTTP/1.1 connection, as a browser holds one. Requests are pre-built bytes; the
    answer is read by Content-Length (or chunks), with no more parsing than the check needs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, raw: bytes) -> tuple[int, bytes, bytes]:
        reused = self.writer is not None
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as closed:
            # The server closed an idle keep-alive connection before reading this request (nothing
            # came back): send it again on a new one, as browsers do. Only once, only then.
            if not reused or getattr(closed, "partial", b""):
                raise
            self.close()
            return await self.send(raw)
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
            body = await self.reader.readexactly(length)
        elif b"\r\ntransfer-encoding: chunked" in lower:
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n"))[:-2], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            body = b""
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, head, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def build(method: str, path: str, port: int, body: bytes | None = None, bearer: str = "") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Accept: application/json"]
    if bearer:
        lines.append(f"Authorization: Bearer {bearer}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def path_of(href: str | bytes) -> str:
    return urlsplit(href.decode() if isinstance(href, bytes) else href).path
