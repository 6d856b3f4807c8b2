"""``MPU_LOG_FORMAT=json``: one JSON object per line, naming the object each line is about.

Built on python-json-logger's ``JsonFormatter`` (the library kopf's own
``kopf.LogFormat.JSON`` uses) rather than on kopf's formatter: kopf's lives in a private
module and knows only the lines of its own object loggers (``extra["k8s_ref"]``), while
most of our lines come from ``logging.getLogger(__name__)`` in the reconciler, where kopf
has no say. So this formatter takes the object's identity from either place:

* kopf's object loggers carry ``k8s_ref`` (namespace, name) in the record;
* our reconciliation step runs inside :func:`about`, which sets a contextvar (copied into
  ``asyncio.to_thread`` workers, so the RTC client's lines carry it too).

The TaskId comes from :func:`note_task_id`, which the reconciler calls whenever it knows
the object's current TaskId, so kopf's lines about the object carry it as well.

Secrets: every record is already scrubbed when it is made (:mod:`mpu_operator.logsafety`);
this formatter scrubs every string it emits once more, since a library's ``extra`` fields
bypass the record's message and would otherwise reach the JSON unscrubbed.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from mpu_operator import logsafety

Identity = tuple[str, str]  # (namespace, name)

_current: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "mpu_log_object", default=None)
_task_ids: dict[Identity, str] = {}

# kopf's extras (its own JSON formatter skips them too), logsafety's mark, and Python
# 3.12's asyncio task name: not fields anyone reads.
_SKIPPED = (*RESERVED_ATTRS, "taskName", "k8s_ref", "k8s_skip", "settings", "mpu_scrubbed")
_LEVELS = ((logging.DEBUG, "debug"), (logging.INFO, "info"), (logging.WARNING, "warn"),
           (logging.ERROR, "error"))


@contextmanager
def about(namespace: str, name: str) -> Iterator[None]:
    """Every line logged inside (this task and the threads it starts) is about this object."""
    token = _current.set((namespace, name))
    try:
        yield
    finally:
        _current.reset(token)


def note_task_id(namespace: str, name: str, task_id: str | None) -> None:
    """The object's current TaskId (None: it has none yet), shown on its lines."""
    key = (namespace, name)
    if task_id:
        _task_ids[key] = task_id
    else:
        _task_ids.pop(key, None)


def forget(namespace: str, name: str) -> None:
    """The object is deleted: drop what was kept about it."""
    _task_ids.pop((namespace, name), None)


def identity(record: logging.LogRecord) -> Identity | None:
    """Which object a record is about: kopf's reference, else the step's contextvar."""
    ref = getattr(record, "k8s_ref", None)
    if isinstance(ref, Mapping) and ref.get("name"):
        return str(ref.get("namespace") or ""), str(ref["name"])
    return _current.get()


class ObjectJsonFormatter(JsonFormatter):
    """``{"timestamp", "severity", "logger", "message", "namespace", "name", "taskId", ...}``.

    ``name`` is the object's name; the logger's name is ``logger``. Lines about no object
    have no namespace, name or taskId.
    """

    def __init__(self) -> None:
        super().__init__("{name}{message}", style="{", rename_fields={"name": "logger"},
                         reserved_attrs=_SKIPPED, timestamp=True)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["severity"] = _severity(record.levelno)
        found = identity(record)
        if found is not None:
            log_data["namespace"], log_data["name"] = found
            log_data["taskId"] = _task_ids.get(found)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {str(key): _scrubbed(value) for key, value in log_data.items()}


def _severity(levelno: int) -> str:
    for level, name in _LEVELS:
        if levelno <= level:
            return name
    return "fatal"


def _scrubbed(value: Any) -> Any:
    """Strings scrubbed, containers walked, anything else turned into a scrubbed string
    (the JSON encoder would otherwise str() it past the scrubber). Timestamps stay."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return logsafety.scrub(value)
    if isinstance(value, Mapping):
        return {str(k): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return logsafety.scrub(str(value))


def install(environ: Mapping[str, str] = os.environ) -> bool:
    """With ``MPU_LOG_FORMAT=json``, give every root handler the JSON formatter (True).

    Called right after kopf configures logging, before the settings are validated, so that
    even a bad setting's message is JSON; an unknown value leaves plain text and the
    settings name it.
    """
    if environ.get("MPU_LOG_FORMAT", "").strip().lower() != "json":
        return False
    formatter = ObjectJsonFormatter()
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
    return True
