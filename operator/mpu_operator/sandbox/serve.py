"""Serve a kmock handler over loopback HTTP from a thread with its own event loop.

Why a thread: the stand-in must keep answering while the test body blocks — in sync
helpers, in ``wait_for`` polls, or in an operator running in yet another thread. A server
on pytest-asyncio's loop would deadlock the first sync call made from an async test.

Why not ``kmock.Server``: it patches aiohttp's resolver process-wide and insists on LIFO
exits, which two stand-ins (Kubernetes and RTC) torn down by fixtures cannot promise.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp.web
import kmock

T = TypeVar("T")


class ServerThread:
    """A kmock handler on ``http://127.0.0.1:<free port>``, started and stopped from sync code."""

    def __init__(self, handler: kmock.RawHandler, host: str = "127.0.0.1", port: int = 0,
                 name: str = "kmock-server") -> None:
        self.handler = handler
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self, timeout: float = 10) -> Self:
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"{self._thread.name} did not start") from self._error
        return self

    def stop(self, timeout: float = 10) -> None:
        """End open streams (they would hold the shutdown), then stop serving."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"{self._thread.name} did not stop within {timeout}s")

    def call(self, fn: Callable[[], T], timeout: float = 10) -> T:
        """Run ``fn`` on the server's loop and return its result (for non-thread-safe calls)."""
        assert self._loop is not None, "the server is not running"

        async def _call() -> T:
            return fn()
        return asyncio.run_coroutine_threadsafe(_call(), self._loop).result(timeout)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as e:  # reported by start(), or lost if after it
            self._error = e
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        runner = aiohttp.web.ServerRunner(aiohttp.web.Server(self.handler), shutdown_timeout=1)
        async with self.handler:
            await runner.setup()
            await aiohttp.web.SockSite(runner, self._sock).start()
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                _end_streams(self.handler)
                await runner.cleanup()


def _end_streams(handler: Any) -> None:
    drop = getattr(handler, "drop_watches", None)
    if callable(drop):
        drop()
