"""``x-kubernetes-validations``: every CEL rule of a CRD, evaluated with a real CEL library.

The rules run on ``common-expression-language`` (the Rust ``cel`` crate, PyPI
``common-expression-language``), not on a Python copy of each rule. What the apiserver adds
around CEL is mirrored here (Kubernetes 1.34): ``self`` typed by the schema (integer vs
double, ``date-time`` strings as timestamps, escaped property names, the root's
``metadata`` cut to name/generateName), transition rules that only run when there is a
correlated ``oldSelf``, ``optionalOldSelf``, ``message``/``messageExpression``/``fieldPath``/
``reason``, ratcheting of unchanged values, and a cost budget.

The Rust interpreter cannot be interrupted, so cost is bounded *before* a rule runs: the
estimate is ``(largest list or map in self/oldSelf + 1) ** (comprehension macros in the
rule)``. A rule whose estimate exceeds the apiserver's per-call limit is refused with the
apiserver's "call cost exceeds limit" error, and the sum over a request is held to the
apiserver's runtime budget, so a hostile object cannot hang the stand-in.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import cel
from cel import stdlib as cel_stdlib

from mpu_operator.sandbox.admission_errors import (
    DUPLICATE,
    FORBIDDEN,
    INVALID,
    REQUIRED,
    FieldError,
    field_path,
)

# celconfig.PerCallLimit and celconfig.RuntimeCELCostBudget.
PER_CALL_LIMIT: Final = 1_000_000
RUNTIME_BUDGET: Final = 10_000_000
# Cost units charged per comprehension step (cel-go charges a few per visited node).
COST_PER_STEP: Final = 4
# Wall-clock cap over all rules of one request, checked between evaluations.
WALL_LIMIT_SECONDS: Final = 2.0
MAX_MESSAGE_BYTES: Final = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes

_MACROS = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter|transformList|transformMap"
                     r"|transformMapEntry)\s*\(")
_STRINGS = re.compile(r"""(?:[rRbB]{0,2})(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'"""
                      r"""|"(?:\\.|[^"\\])*")""", re.S)
_RESERVED: Final = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while"})
_IDENT = re.compile(r"^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$")
_INT64 = (-(2**63), 2**63 - 1)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?"
                       r"(?:[Zz]|[+-]\d{2}:\d{2})$")


@dataclass
class _Budget:
    """What is left of the request's CEL cost budget and wall-clock allowance."""

    remaining: int = RUNTIME_BUDGET
    deadline: float = field(default_factory=lambda: time.monotonic() + WALL_LIMIT_SECONDS)
    spent: bool = False


@dataclass(frozen=True)
class _Node:
    """One value under validation with what it correlates to in the old object."""

    schema: Mapping[str, Any]
    value: Any
    path: str
    old: Any = None
    has_old: bool = False
    root: bool = False

    @property
    def unchanged(self) -> bool:
        return self.has_old and same_json(self.value, self.old)


def cel_errors(schema: Mapping[str, Any], obj: Any, old: Any, has_old: bool,
               ratchet: bool) -> list[FieldError]:
    """Every ``x-kubernetes-validations`` failure in ``obj``, walking the schema as the
    apiserver's CEL validator does (rules at a node see that node as ``self``)."""
    errors: list[FieldError] = []
    budget = _Budget()
    _walk(_Node(schema, obj, "", old, has_old, root=True), errors, budget, ratchet)
    return errors


def _walk(node: _Node, errors: list[FieldError], budget: _Budget, ratchet: bool) -> None:
    if node.value is None or budget.spent:
        return
    _rules_at(node, errors, budget, ratchet)
    for sub in node.schema.get("allOf") or ():
        if isinstance(sub, Mapping):
            _walk(_Node(sub, node.value, node.path, node.old, node.has_old, node.root),
                  errors, budget, ratchet)
    for child in _children(node):
        if budget.spent:
            return
        _walk(child, errors, budget, ratchet)


def _children(node: _Node) -> Iterator[_Node]:
    schema, value = node.schema, node.value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        old = node.old if isinstance(node.old, dict) else {}
        for key, item in value.items():
            if node.root and key in ("apiVersion", "kind", "metadata"):
                continue
            if isinstance(props.get(key), Mapping):
                yield _Node(props[key], item, _child(node.path, key), old.get(key), key in old)
            elif isinstance(extra, Mapping):
                yield _Node(extra, item, f"{field_path(node.path)}[{key}]", old.get(key),
                            key in old)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        olds = _correlate(schema, node.old)
        for index, item in enumerate(value):
            found, before = olds(item)
            yield _Node(schema["items"], item, f"{field_path(node.path)}[{index}]", before, found)


def _correlate(schema: Mapping[str, Any], old: Any) -> Callable[[Any], tuple[bool, Any]]:
    """Only ``x-kubernetes-list-type: map`` items correlate with old items (by their keys)."""
    keys = schema.get("x-kubernetes-list-map-keys") or []
    if schema.get("x-kubernetes-list-type") != "map" or not keys or not isinstance(old, list):
        return lambda _item: (False, None)
    by_key = {_map_key(item, keys): item for item in old if isinstance(item, dict)}
    return lambda item: ((True, by_key[k]) if isinstance(item, dict)
                         and (k := _map_key(item, keys)) in by_key else (False, None))


def _map_key(item: Mapping[str, Any], keys: list[Any]) -> str:
    return repr([item.get(str(k)) for k in keys])


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _rules_at(node: _Node, errors: list[FieldError], budget: _Budget, ratchet: bool) -> None:
    rules = [r for r in node.schema.get("x-kubernetes-validations") or ()
             if isinstance(r, Mapping) and isinstance(r.get("rule"), str) and r["rule"].strip()]
    if not rules:
        return
    kind = str(node.schema.get("type") or "")
    where = field_path(node.path)
    if budget.remaining <= 0 or time.monotonic() > budget.deadline:
        errors.append(FieldError(INVALID, where, kind, "validation failed due to running out "
                                 "of cost budget, no further validation rules will be run"))
        budget.spent = True
        return
    self_value = to_cel(node.schema, node.value, root=node.root)
    old_value = to_cel(node.schema, node.old, root=node.root) if node.has_old else None
    size = max(_widest(node.value), _widest(node.old) if node.has_old else 0)
    for rule in rules:
        if _one_rule(rule, node, kind, (self_value, old_value, size), errors, budget, ratchet):
            budget.spent = True
            return


def _one_rule(rule: Mapping[str, Any], node: _Node, kind: str, values: tuple[Any, Any, int],
              errors: list[FieldError], budget: _Budget, ratchet: bool) -> bool:
    """Evaluate one rule; True when no further rule may run (budget exhausted)."""
    self_value, old_value, size = values
    source = str(rule["rule"])
    where = field_path(node.path)
    program, problem = compile_rule(source)
    if program is None:
        errors.append(FieldError(INVALID, where, kind, f"rule compile error: {problem}"))
        return False
    uses_old = "oldSelf" in program.variables()
    optional_old = bool(rule.get("optionalOldSelf"))
    if uses_old and not node.has_old and not optional_old:
        return False  # transition rules need a correlated old value
    label = _rule_label(rule)
    cost = _estimate(source, size)
    if cost > PER_CALL_LIMIT:
        errors.append(FieldError(INVALID, where, kind, "'operation cancelled: actual cost limit "
                                 "exceeded': no further validation rules will be run due to "
                                 f"call cost exceeds limit for rule: {label}"))
        return True
    if cost > budget.remaining:
        errors.append(FieldError(INVALID, where, kind, "validation failed due to running out "
                                 "of cost budget, no further validation rules will be run"))
        return True
    budget.remaining -= cost
    activation = _activation(self_value, old_value, node.has_old, optional_old)
    try:
        result = program.execute(activation)
    except Exception as exc:
        errors.append(FieldError(INVALID, where, kind, _eval_failure(exc, label)))
        return False
    if result is True:
        return False
    if ratchet and not uses_old and node.unchanged:
        return False  # unchanged value: the apiserver only warns
    target = _target_path(node.path, rule.get("fieldPath"))
    detail = _message(rule, activation, size, budget) or _default_message(rule)
    errors.append(_failure(rule.get("reason"), target, kind, detail))
    return False


def _failure(reason: Any, where: str, kind: str, detail: str) -> FieldError:
    """fieldErrorForReason: the rule's ``reason`` picks the error type."""
    if reason == FORBIDDEN:
        return FieldError(FORBIDDEN, where, detail=detail)
    if reason == REQUIRED:
        return FieldError(REQUIRED, where, detail=detail)
    if reason == DUPLICATE:
        return FieldError(DUPLICATE, where, kind)
    return FieldError(INVALID, where, kind, detail)


def _message(rule: Mapping[str, Any], activation: Mapping[str, Any], size: int,
             budget: _Budget) -> str | None:
    """``messageExpression``'s value, or None to fall back to ``message`` (as the apiserver
    does when the expression fails, is empty, multi-line or too long)."""
    source = rule.get("messageExpression")
    if not isinstance(source, str) or not source.strip():
        return None
    program, _problem = compile_rule(source)
    cost = _estimate(source, size)
    if program is None or cost > min(PER_CALL_LIMIT, budget.remaining):
        return None
    budget.remaining -= cost
    try:
        text = program.execute(activation)
    except Exception:
        return None
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or "\n" in text or len(text.encode()) > MAX_MESSAGE_BYTES:
        return None
    return text


def _rule_label(rule: Mapping[str, Any]) -> str:
    """ruleErrorString: the message when there is one, else the rule's source."""
    message = rule.get("message")
    if isinstance(message, str) and message.strip():
        return message.strip()
    return str(rule["rule"]).strip()


def _default_message(rule: Mapping[str, Any]) -> str:
    message = rule.get("message")
    if isinstance(message, str) and message.strip():
        return message.strip()
    return f"failed rule: {_rule_label(rule)}"


def _target_path(path: str, relative: Any) -> str:
    """The rule's ``fieldPath`` (``.a.b`` or ``.a['b-c']``) appended to the node's path."""
    if not isinstance(relative, str) or not relative:
        return field_path(path)
    parts = re.findall(r"\.([^.\[\]]+)|\['((?:\\.|[^'\\])*)'\]|\[(\d+)\]", relative)
    result = path
    for name, quoted, index in parts:
        if index:
            result = f"{field_path(result)}[{index}]"
        else:
            result = _child(result, name or quoted.replace("\\'", "'"))
    return field_path(result)


def _activation(self_value: Any, old_value: Any, has_old: bool,
                optional_old: bool) -> dict[str, Any]:
    variables: dict[str, Any] = {"self": self_value}
    if optional_old:
        variables["oldSelf"] = (cel.OptionalValue.of(old_value) if has_old
                                else cel.OptionalValue.none())
    elif has_old:
        variables["oldSelf"] = old_value
    return variables


def _eval_failure(exc: Exception, label: str) -> str:
    """The apiserver's wording for a rule that failed to evaluate."""
    if isinstance(exc, KeyError):
        reason = f"no such key: {exc.args[0] if exc.args else ''}"
    elif isinstance(exc, ZeroDivisionError):
        reason = "division by zero"
    elif isinstance(exc, OverflowError):
        reason = "integer overflow"
    elif isinstance(exc, IndexError):
        reason = str(exc)
    elif isinstance(exc, TypeError):
        return (f"'no such overload': call arguments did not match a supported operator, "
                f"function or macro signature for rule: {label}")
    else:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{reason} evaluating rule: {label}"


@functools.lru_cache(maxsize=512)
def compile_rule(source: str) -> tuple[Any, str | None]:
    """A compiled program (cached per source), or (None, why it does not compile)."""
    try:
        return _Compiled(cel.compile(source)), None
    except Exception as exc:
        return None, str(exc).replace("\n", " ")


class _Compiled:
    """A CEL program run with Kubernetes' string and list library functions available."""

    def __init__(self, program: Any) -> None:
        self._program = program
        self._variables = frozenset(program.variables())

    def variables(self) -> frozenset[str]:
        return self._variables

    def execute(self, variables: Mapping[str, Any]) -> Any:
        context = cel.Context()
        cel_stdlib.add_stdlib_to_context(context, ["core", "strings"])
        context.add_function("isSorted", _is_sorted)
        for name, value in variables.items():
            context.add_variable(name, value)
        return self._program.execute(context)


def _is_sorted(items: list[Any]) -> bool:
    """Kubernetes' list library ``isSorted()``."""
    return all(a <= b for a, b in itertools.pairwise(items))


def _estimate(source: str, size: int) -> int:
    """Upper bound on the cost of one evaluation: comprehension nesting over the widest
    collection (literal lists count by the rule's length)."""
    macros = len(_MACROS.findall(_STRINGS.sub('""', source)))
    width = max(size, len(source) // 2) + 1
    return COST_PER_STEP * (width ** min(macros, 8)) + len(source)


def _widest(value: Any, depth: int = 0) -> int:
    """The length of the largest list or map anywhere in ``value``."""
    if depth > 64:
        return 0
    if isinstance(value, dict):
        inner = (_widest(v, depth + 1) for v in value.values())
        return max(len(value), max(inner, default=0))
    if isinstance(value, list):
        return max(len(value), max((_widest(v, depth + 1) for v in value), default=0))
    if isinstance(value, str):
        return len(value) // 64  # string functions walk strings too
    return 0


def to_cel(schema: Mapping[str, Any], value: Any, root: bool = False) -> Any:
    """A JSON value as the apiserver hands it to CEL, typed by its schema."""
    if value is None or not isinstance(schema, Mapping):
        return value
    kind = schema.get("type")
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if kind == "number" or not _INT64[0] <= value <= _INT64[1]:
            return float(value)
        return value
    if isinstance(value, float):
        return int(value) if kind == "integer" and value.is_integer() else value
    if isinstance(value, str):
        return _timestamp(value) if schema.get("format") == "date-time" else value
    if isinstance(value, list):
        items = schema.get("items")
        return [to_cel(items if isinstance(items, Mapping) else {}, v) for v in value]
    if isinstance(value, dict):
        return _object_to_cel(schema, value, root)
    return value


def _object_to_cel(schema: Mapping[str, Any], value: dict[str, Any], root: bool) -> dict[str, Any]:
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if root and key == "metadata" and isinstance(item, dict):
            out[key] = {k: item[k] for k in ("name", "generateName") if k in item}
        elif root and key in ("apiVersion", "kind"):
            out[key] = item
        elif isinstance(props.get(key), Mapping):
            name = escape_name(key)
            if name is not None:
                out[name] = to_cel(props[key], item)
        elif isinstance(extra, Mapping):
            out[key] = to_cel(extra, item)
        else:
            out[key] = item
    return out


def escape_name(name: str) -> str | None:
    """Kubernetes' CEL property-name escaping; None when a name cannot be reached from CEL."""
    if name in _RESERVED:
        return f"__{name}__"
    if not _IDENT.match(name):
        return None
    return (name.replace("__", "__underscores__").replace(".", "__dot__")
            .replace("-", "__dash__").replace("/", "__slash__"))


def _timestamp(text: str) -> Any:
    if not _DATETIME.match(text):
        return text
    try:
        return dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return text


def same_json(a: Any, b: Any) -> bool:
    """Deep JSON equality that keeps booleans apart from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return bool(type(a) is type(b) and a == b) or (
        isinstance(a, int | float) and isinstance(b, int | float) and a == b)
