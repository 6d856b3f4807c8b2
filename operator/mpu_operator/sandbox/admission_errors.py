"""Field errors rendered exactly as the Kubernetes apiserver renders them.

Mirrors ``k8s.io/apimachinery/pkg/util/validation/field`` (``Error.Error()``/``ErrorBody()``
as of Kubernetes 1.34) and the kube-openapi message templates the CRD validator uses, so a
person reading a refusal from the sandbox sees what a real cluster would print.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

# field.ErrorType values (the wire form used in Status.details.causes[].reason).
INVALID: Final = "FieldValueInvalid"
TYPE_INVALID: Final = "FieldValueTypeInvalid"
REQUIRED: Final = "FieldValueRequired"
NOT_SUPPORTED: Final = "FieldValueNotSupported"
DUPLICATE: Final = "FieldValueDuplicate"
FORBIDDEN: Final = "FieldValueForbidden"
TOO_LONG: Final = "FieldValueTooLong"
TOO_MANY: Final = "FieldValueTooMany"
INTERNAL: Final = "InternalError"

_TITLES: Final = {
    INVALID: "Invalid value", TYPE_INVALID: "Invalid value", REQUIRED: "Required value",
    NOT_SUPPORTED: "Unsupported value", DUPLICATE: "Duplicate value", FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long", TOO_MANY: "Too many", INTERNAL: "Internal error",
}
_NO_VALUE: Final = frozenset({REQUIRED, FORBIDDEN, TOO_LONG, INTERNAL})
# hasBlockingErr in the CRD strategy: after one of these, CEL rules are not run.
BLOCKING: Final = frozenset({NOT_SUPPORTED, REQUIRED, TOO_LONG, TOO_MANY, TYPE_INVALID})


class _Omit:
    """field.OmitValueType: the value is left out of the message."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()


@dataclass(frozen=True)
class FieldError:
    """One apiserver field error; ``str()`` is the line ``kubectl`` prints."""

    type: str
    field: str
    value: Any = OMIT
    detail: str = ""

    def body(self) -> str:
        """``ErrorBody()``: the message without the field name (Status causes' message)."""
        text = _TITLES.get(self.type, self.type)
        if self.type not in _NO_VALUE and self.value is not OMIT:
            text = f"{text}: {go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    @property
    def blocking(self) -> bool:
        return self.type in BLOCKING


def go_value(value: Any) -> str:
    """A bad value as ``ErrorBody`` prints it: %v for numbers and bools, %q for strings,
    JSON for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return go_quote(repr(value))


def go_quote(text: str) -> str:
    """Go's %q: a double-quoted string with Go escapes (JSON's are close enough, but Go
    keeps printable non-ASCII as is and writes other controls as \\x.. or \\u....)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def go_float(number: float) -> str:
    """Go's %v for a float64 (strconv 'g', shortest): 2 -> "2", 1e6 -> "1e+06"."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # position of the decimal point within the digits
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:  # shortest 'g' switches to %e at precision 6
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{prefix}{text}{'0' * (point - len(text))}"
    return f"{prefix}{text[:point]}.{text[point:]}"


def field_path(path: str) -> str:
    """A nil ``*field.Path`` prints as ``<nil>``: errors about the whole object."""
    return path or "<nil>"
