"""An RTC MPU API emulator the official SDKs cannot tell from the service.

Serves StartMPUTask, GetMPUTaskStatus, UpdateMPULayout and StopMPUTask (signature v1 and
ACS3), keeps task state per app with the service's URL, quota and idle-stop rules, and
exposes control endpoints under ``/_emulator/`` for what the real world does (people
joining channels, a CDN failing). See docs/emulator.md.

Layout: :mod:`.config` settings, :mod:`.clock` time, :mod:`.model` validated requests,
:mod:`.validation` parameter rules, :mod:`.state` tasks and channels, :mod:`.auth`
signatures, :mod:`.stats` counters and throttling, :mod:`.faults` injected failures,
:mod:`.service` the call pipeline, :mod:`.wire` the wire format, :mod:`.control` the
control endpoints, :mod:`.server` the HTTP app and ``main``, :mod:`.harness` embedding.
"""

from .clock import FakeClock, SystemClock
from .config import EmulatorConfig
from .harness import EmulatorServer, EmulatorThread

__all__ = ["EmulatorConfig", "EmulatorServer", "EmulatorThread", "FakeClock", "SystemClock"]
