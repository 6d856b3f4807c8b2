"""The errors the emulator answers with, as (code, HTTP status, message).

Codes the reference documents, and the project's own codes for what it leaves undocumented,
come from :mod:`mpu_operator.rtc.codes` so the client and the emulator cannot drift. The
few parameter codes below are the emulator's, spelt in the reference's ``Request.Invalid*``
style; ``docs/emulator.md`` lists every code with its HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mpu_operator.rtc import codes

# Documented in chapter 9 but not needed by the client, so not in rtc/codes.py.
NO_NONCE = "Request.NoNonce"
INVALID_APP_ID = "Request.InvalidAppID"
INVALID_CHANNEL_ID = "Request.InvalidChannelID"

# The emulator's own, for parameter checks the reference states without naming a code.
INVALID_TASK_ID = "Request.InvalidTaskId"
INVALID_STREAM_URL = "Request.InvalidStreamURL"
INVALID_LAYOUT_IDS = "Request.InvalidLayoutIds"
INVALID_MEDIA_ENCODE = "Request.InvalidMediaEncode"
INVALID_CROP_MODE = "Request.InvalidCropMode"
INVALID_BACKGROUND_COLOR = "Request.InvalidBackgroundColor"
INVALID_USER_PANES = "Request.InvalidUserPanes"
INVALID_SUB_SPEC_USERS = "Request.InvalidSubSpecUsers"
INVALID_TASK_PROFILE = "Request.InvalidTaskProfile"
INVALID_BACKGROUNDS = "Request.InvalidBackgrounds"
INVALID_WATERMARKS = "Request.InvalidWatermarks"
INVALID_CLOCK_WIDGETS = "Request.InvalidClockWidgets"
INVALID_MIX_MODE = "Request.InvalidMixMode"
INVALID_SOURCE_TYPE = "Request.InvalidSourceType"
INVALID_STREAM_TYPE = "Request.InvalidStreamType"
INVALID_PARAMETER = "Request.InvalidParameter"  # a start-only knob (TaskType ...) or a JSON list
INVALID_VERSION = "InvalidVersion"
INTERNAL_ERROR = "InternalError"


@dataclass
class ApiError(Exception):
    """A refusal the service would send: becomes an error body with this code and status."""

    code: str
    http: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    injected: bool = False  # from a fault ordered through /_emulator/faults

    def __str__(self) -> str:
        return f"{self.code} ({self.http}): {self.message}"


def missing(name: str) -> ApiError:
    return ApiError(codes.MISSING_PARAMETER, 400,
                    f'The input parameter "{name}" that is mandatory for processing this '
                    f"request is not supplied.")


def invalid(code: str, message: str) -> ApiError:
    return ApiError(code, 400, message)


def unsupported_operation() -> ApiError:
    return ApiError(codes.UNSUPPORTED_OPERATION, 400, "The specified action is not supported.")


def task_not_found(app_id: str, task_id: str) -> ApiError:
    return ApiError(codes.TASK_NOT_FOUND, 404, f"task {task_id!r} not found in app {app_id!r}")


@dataclass
class ControlError(Exception):
    """A refused control call (``/_emulator/...``): plain JSON ``{"error": message}``."""

    http: int
    message: str
