"""Problems found in a spec, and the translation of pydantic's errors into them.

Users read these in ``kubectl describe``, in status and in CI logs, so a problem names the
field the way it is written in the manifest (camelCase, dotted, ``[i]`` for list items)
and states the rule in plain English. Input values are never echoed (only tested for
null): the stream URL carries an auth key, and an echo of one field is one typo away from
an echo of another.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import ErrorDetails

from mpu_operator import catalogue

#: The field name used for a problem with the spec as a whole.
ROOT = "spec"

COLOR_PATTERN = r"^#[0-9A-Fa-f]{6}$"
#: One line of text for people: no control characters (C0, DEL, C1).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"
#: A Kubernetes object name (DNS-1123 subdomain), as Secrets are named.
OBJECT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
#: A namespace name (DNS-1123 label, at most 63 characters).
NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: A key in a Secret's data.
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"

#: Longest field-path segment shown: real names are short, an unknown key may be 1 MiB.
MAX_SHOWN_SEGMENT = 64
#: Translating an error costs work (close-match search), so only this many are translated;
#: a spec with 100 000 unknown keys needs no 100 000 lines to be understood.
MAX_PROBLEMS = 20

#: What each pattern means, for people: "should match '^[a-z0-9]([-a-z0-9]*…'" helps nobody.
PATTERN_RULES: dict[str, str] = {
    COLOR_PATTERN: "must be a colour written #RRGGBB (six hex digits)",
    TEXT_PATTERN: "must be one line of text without control characters",
    OBJECT_NAME_PATTERN: "must be a Kubernetes object name: lower-case letters, digits, "
                         "'-' and '.', starting and ending with a letter or digit",
    SECRET_KEY_PATTERN: "must be a Secret key: letters, digits, '-', '_' and '.'",
    catalogue.TASK_ID_PATTERN: "may contain only letters, digits, '_' and '-'",
    catalogue.RTC_ID_PATTERN: "must be an RTC id: letters, digits, '_' and '-' only",
    NAMESPACE_PATTERN: "must be a Kubernetes namespace name: lower-case letters, digits and "
                       "'-', starting and ending with a letter or digit",
}

#: Characters never written raw: C0/C1 controls and DEL (a newline would forge an output
#: line, ESC would drive the terminal), Unicode line separators, bidirectional overrides
#: (they reorder what a reader sees) and lone surrogates (undecodable file names).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e"
                     r"\u2066-\u2069\ud800-\udfff]")


def printable(text: str, limit: int = 253) -> str:
    """``text`` safe to print on one line: unsafe characters escaped, at most ``limit`` kept.

    Cut before escaping, so the work is bounded by ``limit`` whatever the input's size.
    """
    cut = text if len(text) <= limit else text[:limit] + "..."
    return _UNSAFE.sub(_escape, cut)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``field`` is a camelCase path inside the spec (no ``spec.``)."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


def field_path(loc: Sequence[str | int]) -> str:
    """('layout', 'userPanes', 1, 'paneId') -> 'layout.userPanes[1].paneId'."""
    path = ""
    for part in loc:
        if isinstance(part, bool):  # a YAML 1.1 boolean used as a key (y:, on:)
            path += f".{str(part).lower()}" if path else str(part).lower()
        elif isinstance(part, int):
            path += f"[{part}]"
        else:
            name = printable(str(part), MAX_SHOWN_SEGMENT)
            path += f".{name}" if path else name
    return path or ROOT


def from_pydantic(errors: Iterable[ErrorDetails], known: dict[str, list[str]]) -> list[Problem]:
    """Pydantic's errors as Problems. ``known``: field path -> the names allowed there.

    ``known`` lets an unknown field suggest the name the user probably meant. At most
    :data:`MAX_PROBLEMS` are translated; a last problem says how many more there were.
    """
    problems: list[Problem] = []
    skipped = 0
    for error in errors:
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(field_path(error["loc"]), _rule(error, known)))
        else:
            skipped += 1
    problems = list(dict.fromkeys(problems))  # unions can repeat an error; keep the first
    if skipped:
        problems.append(Problem(ROOT, f"{skipped} more problems not shown"))
    return problems


def _rule(error: ErrorDetails, known: dict[str, list[str]]) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "extra_forbidden":
        return _unknown_field(error["loc"], known)
    if kind in _SIMPLE and kind != "missing" and error.get("input", ...) is None:
        return _null(error["loc"])
    if kind == "string_pattern_mismatch":
        return PATTERN_RULES.get(str(ctx.get("pattern")), "has a form that is not allowed")
    if kind in _SIZED:
        return _SIZED[kind](ctx)
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind == "value_error":
        return str(ctx.get("error", "is not valid"))
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')}"
    return _plain(error["msg"])


#: What kubectl (YAML 1.1) makes of an unquoted key y, n, yes, no, on or off.
_BOOLEAN_KEYS = {True, False, "true", "false"}
BOOLEAN_KEY_RULE = ("unknown field: an unquoted y, n, yes, no, on or off is read as true or "
                    "false in YAML (kubectl reads it so); quote the key, as in \"y\": 0.5")


def _unknown_field(loc: Sequence[str | int], known: dict[str, list[str]]) -> str:
    """'unknown field', with the nearest allowed name when there is a likely one."""
    if loc and loc[-1] in _BOOLEAN_KEYS and isinstance(loc[-1], bool | str):
        return BOOLEAN_KEY_RULE
    parent = "".join("[]" if isinstance(p, int) else f".{p}" for p in loc[:-1]).lstrip(".")
    allowed = known.get(parent, [])
    if len(str(loc[-1])) > MAX_SHOWN_SEGMENT:  # no real name is that long: nothing is close
        return "unknown field"
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
    return f"unknown field (did you mean {close[0]}?)" if close else "unknown field"


def _null(loc: Sequence[str | int]) -> str:
    """A null where a value belongs; for a colour, YAML's '#' comment is the usual cause."""
    if loc and loc[-1] == "backgroundColor":
        return "must not be null (quote the colour in YAML: '#' starts a comment)"
    return "must not be null"


def _plain(msg: str) -> str:
    """Pydantic's own text, reworded from 'Input should be…' into 'must be…'."""
    text = msg.replace("Input should be", "must be")
    return text[:1].lower() + text[1:]


_SIMPLE: dict[str, str] = {
    "missing": "required",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dataclass_type": "must be an object",
}

_SIZED: dict[str, Callable[[dict[str, Any]], str]] = {
    "string_too_short": lambda c: "must not be empty" if c.get("min_length") == 1
    else f"must be at least {c.get('min_length')} characters",
    "string_too_long": lambda c: f"must be at most {c.get('max_length')} characters",
    "too_short": lambda c: "must not be empty" if c.get("min_length") == 1
    else f"must have at least {c.get('min_length')} items",
    "too_long": lambda c: f"must have at most {c.get('max_length')} items",
    "greater_than_equal": lambda c: f"must be at least {c.get('ge')}",
    "less_than_equal": lambda c: f"must be at most {c.get('le')}",
    "greater_than": lambda c: f"must be greater than {c.get('gt')}",
    "less_than": lambda c: f"must be less than {c.get('lt')}",
}
