"""A small HTTP/1.1 server on asyncio, shared by the local Kubernetes and Azure servers.

Why not ``http.server``: injected latency and hanging requests would each pin a thread, and the
benchmarks hold thousands of slow requests open at once.  Why not aiohttp: it would work, but a
bare ``asyncio.Protocol`` costs less CPU per request (no middleware, no header multidict, no
per-request objects beyond one small class) and lets a fault drop a connection without a
response, which is what "the cluster is down" looks like to a client.

Every server owns one :class:`LoopThread`: an event loop on a daemon thread.  Request handlers
run on that thread; a handler may return a coroutine (for latency, hangs, or a write that must
stay "in flight" for a while).  Listeners (one port each, plain or TLS) can be added and removed
while the loop runs, so a server can give every cluster its own port and close one to simulate
a cluster that refuses connections.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import ssl
import threading
from http import HTTPStatus
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, unquote

__all__ = ["HttpRequest", "HttpResponse", "DROP", "Listener", "LoopThread"]

_MAX_HEAD = 64 * 1024
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_REASONS[429] = "Too Many Requests"


class HttpRequest:
    """One parsed request.  ``query`` keeps the last value of each parameter; ``query_list``
    keeps them all.  Header names are lower-cased."""

    __slots__ = ("method", "target", "path", "raw_query", "query", "query_list", "headers",
                 "body", "listener", "keep_alive", "peer")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes,
                 listener: "Listener", keep_alive: bool, peer: Any = None) -> None:
        self.method = method
        self.target = target
        path, _, raw_query = target.partition("?")
        self.path = unquote(path)
        self.raw_query = raw_query
        self.query_list = parse_qsl(raw_query, keep_blank_values=True) if raw_query else []
        self.query = dict(self.query_list)
        self.headers = headers
        self.body = body
        self.listener = listener
        self.keep_alive = keep_alive
        self.peer = peer

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


class HttpResponse:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
                 content_type: str | None = "application/json") -> None:
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        if content_type and not any(k.lower() == "content-type" for k, _ in self.headers):
            self.headers.append(("Content-Type", content_type))

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


#: Returned by a handler to close the connection without sending anything.
DROP = object()

Handler = Callable[[HttpRequest], "HttpResponse | object | Awaitable[HttpResponse | object]"]


class Listener:
    """One listening socket.  ``context`` is free-form routing data (e.g. the cluster name
    for a per-cluster port); ``service`` names the handler family (``kube``, ``arm``, ``aad``)."""

    def __init__(self, service: str, host: str, port: int, tls: ssl.SSLContext | None,
                 context: dict[str, Any] | None, handler: Handler) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.tls = tls
        self.context = dict(context or {})
        self.handler = handler
        self.server: asyncio.base_events.Server | None = None
        self.conns: set[_Conn] = set()

    def abort_connections(self) -> None:
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.abort()
        self.conns.clear()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"Listener({self.service}, {self.url}, {self.context})"


class _Conn(asyncio.Protocol):
    __slots__ = ("listener", "loop", "transport", "buf", "busy", "closed", "task", "peer", "_continued")

    def __init__(self, listener: Listener, loop: asyncio.AbstractEventLoop) -> None:
        self.listener = listener
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False
        self.closed = False
        self.task: asyncio.Task | None = None
        self.peer = None
        self._continued = False

    # -- asyncio callbacks -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peer = transport.get_extra_info("peername")
        self.listener.conns.add(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.listener.conns.discard(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    # -- parsing ---------------------------------------------------------------------
    def _next(self) -> None:
        try:
            req = self._parse()
        except ValueError:
            self._send_raw(400, b'{"error":"bad request"}', keep_alive=False)
            return
        if req is None:
            return
        self.busy = True
        self.task = self.loop.create_task(self._run(req))

    def _parse(self) -> HttpRequest | None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > _MAX_HEAD:
                raise ValueError("head too large")
            return None
        head = bytes(buf[:end]).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise ValueError("bad request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if not sep:
                raise ValueError("bad header")
            headers[k.strip().lower()] = v.strip()
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parsed = _parse_chunked(buf, start)
            if parsed is None:
                self._maybe_continue(headers)
                return None
            body, consumed = parsed
            del buf[:consumed]
        else:
            n = int(headers.get("content-length", "0") or 0)
            if len(buf) - start < n:
                self._maybe_continue(headers)
                return None
            body = bytes(buf[start:start + n])
            del buf[:start + n]
        self._continued = False
        conn = headers.get("connection", "").lower()
        keep_alive = (conn != "close") if version == "HTTP/1.1" else (conn == "keep-alive")
        return HttpRequest(method.upper(), target, headers, body, self.listener, keep_alive, self.peer)

    def _maybe_continue(self, headers: dict[str, str]) -> None:
        if not self._continued and headers.get("expect", "").lower() == "100-continue" and self.transport:
            self._continued = True
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    # -- handling --------------------------------------------------------------------
    async def _run(self, req: HttpRequest) -> None:
        try:
            result = self.listener.handler(req)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            return
        except Exception as exc:  # a bug in a handler must not kill the connection silently
            import traceback

            traceback.print_exc()
            result = HttpResponse(500, repr(exc).encode(), content_type="text/plain")
        if self.closed or self.transport is None:
            return
        if result is DROP:
            self.transport.abort()
            self.closed = True
            return
        assert isinstance(result, HttpResponse)
        self._send(result, req)
        self.busy = False
        if not req.keep_alive:
            self.transport.close()
            self.closed = True
            return
        if self.buf:
            self._next()

    def _send(self, resp: HttpResponse, req: HttpRequest) -> None:
        body = b"" if req.method == "HEAD" else resp.body
        head = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Unknown')}\r\n"]
        for k, v in resp.headers:
            head.append(f"{k}: {v}\r\n")
        head.append(f"Content-Length: {len(resp.body)}\r\n")
        if not req.keep_alive:
            head.append("Connection: close\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1")
        assert self.transport is not None
        if len(body) < 65536:
            self.transport.write(data + body)
        else:
            self.transport.write(data)
            self.transport.write(body)

    def _send_raw(self, status: int, body: bytes, keep_alive: bool) -> None:
        if self.transport is None:
            return
        self.transport.write(
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n".encode() + body)
        self.transport.close()
        self.closed = True


def _parse_chunked(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            # optional trailers, then CRLF
            end = buf.find(b"\r\n", pos)
            while end >= 0 and end != pos:
                pos = end + 2
                end = buf.find(b"\r\n", pos)
            if end < 0:
                return None
            return bytes(out), end + 2
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos:pos + size]
        pos += size + 2


class LoopThread:
    """An event loop running on a daemon thread, with thread-safe helpers."""

    def __init__(self, name: str = "test-server") -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()
        self.listeners: list[Listener] = []

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()
        # drain cancelled tasks so the loop can close cleanly
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def in_loop(self) -> bool:
        return threading.current_thread() is self.thread

    def run(self, coro: Awaitable[Any], timeout: float | None = 30) -> Any:
        """Run a coroutine on the loop and wait for its result (from another thread)."""
        if self.in_loop():
            raise RuntimeError("LoopThread.run called from the loop thread")
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return fut.result(timeout)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a plain function on the loop thread and return its result."""
        if self.in_loop():
            return fn(*args)
        fut: concurrent.futures.Future = concurrent.futures.Future()

        def _do() -> None:
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:  # pragma: no cover - passed back to the caller
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(_do)
        return fut.result(30)

    def listen(self, service: str, handler: Handler, host: str = "127.0.0.1", port: int = 0,
               tls: ssl.SSLContext | None = None, context: dict[str, Any] | None = None) -> Listener:
        listener = Listener(service, host, port, tls, context, handler)

        async def _start() -> None:
            server = await self.loop.create_server(
                lambda: _Conn(listener, self.loop), host, port, ssl=tls, reuse_address=True,
                backlog=1024)
            listener.server = server
            listener.port = server.sockets[0].getsockname()[1]

        self.run(_start())
        self.listeners.append(listener)
        return listener

    def close_listener(self, listener: Listener) -> None:
        async def _stop() -> None:
            if listener.server is not None:
                listener.server.close()
                listener.server = None
            listener.abort_connections()

        self.run(_stop())

    def reopen_listener(self, listener: Listener) -> None:
        async def _start() -> None:
            listener.server = await self.loop.create_server(
                lambda: _Conn(listener, self.loop), listener.host, listener.port, ssl=listener.tls,
                reuse_address=True, backlog=1024)

        self.run(_start())

    def stop(self) -> None:
        if not self.thread.is_alive():
            return

        async def _shutdown() -> None:
            for listener in self.listeners:
                if listener.server is not None:
                    listener.server.close()
                    listener.server = None
                listener.abort_connections()
            # abort hanging requests: cancel everything else still running on the loop
            me = asyncio.current_task()
            for t in asyncio.all_tasks():
                if t is not me:
                    t.cancel()

        try:
            self.run(_shutdown(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
