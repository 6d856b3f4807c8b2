"""Error codes the client classifies and the emulator sends.

The documented ones come from chapter 9 of the reference. The MPU task codes (exists, not
found, URL rule, quota) are not documented by the service; the names below are ours, chosen
in the style of the documented ones, and the client also recognises them by message so a
differently-spelt real answer still classifies (see ``errors.classify``).
"""

from __future__ import annotations

from enum import StrEnum

# Documented (chapter 9).
ILLEGAL_TIMESTAMP = "Request.IllegalTimestamp"
ILLEGAL_SIGNATURE = "Request.IllegalSignature"
ILLEGAL_AUTH = "Request.IllegalAuth"
INVALID_TIMESTAMP = "Request.InvalidTimestamp"
INVALID_NONCE = "Request.InvalidNonce"
NO_TIMESTAMP = "Request.NoTimestamp"
NO_SIGNATURE = "Request.NoSignature"
NO_APP_ID = "Request.NoAppID"
NO_CHANNEL_ID = "Request.NoChannelID"
SERVICE_INACTIVE = "Service.Inactive"
APP_STOP = "App.Stop"
APP_CHARGE_OVERDUE = "App.ChargeOverDue"
CHANNEL_EXCEEDS = "Channel.Exceeds"
SERVICE_NO_APP = "Service.NoApp"
SERVICE_NO_CHANNEL = "Service.NoChannel"
CHANNEL_NO_EXIST = "Channel.NoExist"
UNSUPPORTED_OPERATION = "UnsupportedOperation"
MISSING_PARAMETER = "MissingParameter"
INVALID_PARAMETER = "InvalidParameter"
INVALID_ACCESS_KEY_ID = "InvalidAccessKeyId.NotFound"
SIGNATURE_NONCE_USED = "SignatureNonceUsed"

# Authentication and authorisation, as families: a code that is one of these or a sub-code
# (``Forbidden.RAM``, ``InvalidSecurityToken.Expired``); ``*`` ends a plain prefix. RTC's
# own (chapter 9) and the Alibaba Cloud POP gateway's common codes, which every RPC API,
# RTC included, answers before the product sees the call (help.aliyun.com "公共错误码").
# ``Forbedden`` is the misspelling some products document (``Forbedden.NotSupportRAM``).
AUTH_CODE_FAMILIES = (
    "Request.Illegal*", INVALID_TIMESTAMP, NO_TIMESTAMP,
    NO_SIGNATURE, INVALID_NONCE, "InvalidAccessKeyId", "InvalidAccessKeySecret",
    "InvalidSecurityToken", "MissingSecurityToken", "SignatureDoesNotMatch",
    "IncompleteSignature", "InvalidSignatureMethod", "InvalidSignatureVersion",
    "InvalidTimeStamp", "IllegalTimestamp", "Forbidden", "Forbedden", "ActionUnauthorized",
    "NoPermission", "AccessDenied", "Unauthorized",
)

# Ours, for what the reference leaves undocumented.
TASK_EXISTS = "Request.ExistTask"
TASK_NOT_FOUND = "Service.NoTask"
STREAM_URL_IN_USE = "Request.StreamURLInUse"
STREAM_URL_COOLING_DOWN = "Request.StreamURLCoolingDown"
TASK_QUOTA_EXCEEDED = "Request.TaskQuotaExceeded"
THROTTLING = "Throttling.User"


class ErrorKind(StrEnum):
    """What a caller should do about an error."""

    RETRYABLE = "Retryable"  # 5xx, timeouts, connection errors, throttling: back off, retry
    TERMINAL = "Terminal"  # a person must act: credentials, app state, invalid parameters
    NOT_FOUND = "NotFound"  # the task does not exist (any more)
    ALREADY_EXISTS = "AlreadyExists"  # the TaskId is taken
    CONFLICT = "Conflict"  # URL held or cooling down, quota full: wait, then retry
