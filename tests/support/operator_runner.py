"""Run a kopf operator in-process against the API stand-in, and stop or *kill* it.

Why not ``kopf.testing.KopfRunner``: it goes through the CLI (module paths, login
handlers, a stop flag only), and it can only stop gracefully. Crash-consistency scenarios
("operator killed between the write-ahead and Start") need the opposite: the operator
must stop mid-flight, with no cleanup handler, no finalizer removal, no last patch.

:meth:`OperatorRunner.kill` halts the operator's event loop between two steps and closes
its sockets, so from the API server's point of view the process vanished: nothing more
is sent, nothing is flushed. A new :meth:`OperatorRunner.start` then begins a fresh
operator (fresh loop, fresh kopf memories) against the same API, like a restarted pod.

Credentials: the runner hands kopf a pre-filled credentials vault pointing at the URL, so
no ``@kopf.on.login`` handler is needed or called, and the operator's registry is never
modified. Not faithful to a real process restart: module-level globals of the operator
survive a kill, and work that kopf runs in its thread pool (sync handlers) is not stopped.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import kopf
from kopf._cogs.structs import credentials  # the Vault type: not re-exported by kopf

logger = logging.getLogger(__name__)

# Loops of killed operators, kept referenced: their pending tasks must never be collected
# (a collected pending task logs "Task was destroyed" and runs no code, but the noise hides
# real errors). One small loop per kill for the length of a test session is cheap.
_GRAVEYARD: list[asyncio.AbstractEventLoop] = []


def load_registry(module: str) -> kopf.OperatorRegistry:
    """The registry a module fills at import time: its one ``OperatorRegistry`` attribute,
    or kopf's default registry if it uses the plain ``@kopf.on...`` decorators."""
    mod = importlib.import_module(module)
    found = {id(v): v for v in vars(mod).values() if isinstance(v, kopf.OperatorRegistry)}
    if len(found) > 1:
        raise LookupError(f"{module} has several OperatorRegistry objects; pass one explicitly")
    return next(iter(found.values()), None) or kopf.get_default_registry()


def fast_settings() -> kopf.OperatorSettings:
    """kopf settings for tests: no 10-minute SIGKILL fuse on abnormal exits (it would kill
    pytest), no peering, quick reconnects."""
    settings = kopf.OperatorSettings()
    settings.process.ultimate_exiting_timeout = None
    settings.peering.standalone = True
    settings.watching.reconnect_backoff = 0.1
    settings.networking.error_backoffs = [0.1, 0.2, 0.5]
    return settings


class OperatorRunner:
    """One operator at a time, in a background thread with its own event loop.

    ``registry`` is a ``kopf.OperatorRegistry`` or a module path (see :func:`load_registry`).
    ``settings`` is a factory, called for every start (kopf mutates the object it is given).
    """

    def __init__(self, url: str, registry: kopf.OperatorRegistry | str, *,
                 settings: Callable[[], kopf.OperatorSettings] = fast_settings,
                 namespaces: tuple[str, ...] = (), memo: object | None = None,
                 ready_timeout: float = 10) -> None:
        self.url = url
        self.registry = load_registry(registry) if isinstance(registry, str) else registry
        self.settings_factory = settings
        self.namespaces = namespaces
        self.memo = memo
        self.ready_timeout = ready_timeout
        self.starts = 0  # how many operators this runner has started (restarts + 1)
        self.exception: BaseException | None = None  # why the last operator ended, if it failed
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._killed = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.running:
            self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Start a new operator and wait until kopf reports readiness (startup handlers done)."""
        if self.running:
            raise RuntimeError("an operator is already running; stop() or kill() it first")
        ready: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._killed, self.exception = False, None
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True,
                                        name=f"kopf-operator-{self.starts}")
        self.starts += 1
        self._thread.start()
        done, _ = concurrent.futures.wait([ready], self.ready_timeout)
        if not done:
            raise RuntimeError(f"the operator was not ready in {self.ready_timeout}s")
        if self.exception is not None:
            raise RuntimeError("the operator failed to start") from self.exception
        return self

    def stop(self, timeout: float = 15) -> None:
        """Graceful stop, as on SIGTERM: kopf cancels daemons and exits."""
        if not self.running or self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._join(timeout)
        if self.exception is not None:
            raise RuntimeError("the operator failed") from self.exception

    def kill(self, timeout: float = 5) -> None:
        """Abrupt stop, as on SIGKILL: halt the loop now, close its connections, run nothing."""
        loop = self._loop
        if not self.running or loop is None:
            return
        self._killed = True
        loop.call_soon_threadsafe(loop.stop)
        self._join(timeout)
        _abort_connections(loop)
        _GRAVEYARD.append(loop)

    def restart(self) -> Self:
        """Kill the running operator (if any) and start a new one."""
        self.kill()
        return self.start()

    def _join(self, timeout: float) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the operator thread did not end within {timeout}s")

    def _run(self, ready: concurrent.futures.Future[Any]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._operate(ready))
        except BaseException as e:
            if not self._killed:
                self.exception = e
                logger.exception("The operator ended with an error.")
        finally:
            if not ready.done():
                ready.set_result(None)
            if not self._killed:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

    async def _operate(self, ready: concurrent.futures.Future[Any]) -> None:
        self._stop = asyncio.Event()
        vault = credentials.Vault({"stand-in": kopf.ConnectionInfo(server=self.url)})
        await kopf.operator(
            registry=self.registry, settings=self.settings_factory(), vault=vault,
            clusterwide=not self.namespaces, namespaces=self.namespaces, memo=self.memo,
            standalone=True, stop_flag=self._stop, ready_flag=ready)


def _abort_connections(loop: asyncio.AbstractEventLoop) -> None:
    """Close every socket of a halted loop, so the server sees the client vanish."""
    transports = getattr(loop, "_transports", {})  # selector loops track them by fd
    for transport in list(transports.values()):
        sock = getattr(transport, "_sock", None)
        if sock is not None:
            sock.close()
