"""logsafety: the secret parts of URLs, in every spelling a log or Event can carry, and
known secrets never come out; host and path do; kopf's Events pass the same scrubber."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpu_operator import logsafety
from mpu_operator.logsafety import REDACTED, remember, scrub

# Markers put into each secret part: alphanumeric, so every encoding leaves them intact,
# and with "zz", which the generated hosts and paths never contain.
USER, PASSWORD, QUERY, FRAGMENT = "zzUSERzz", "zzPASSzz", "zzQUERYzz", "zzFRAGzz"
SECRET_MARKS = (USER, PASSWORD, QUERY, FRAGMENT)
HOST_MARK, PATH_MARK = "hostmark", "pathmark"


@pytest.fixture(autouse=True)
def _no_remembered_secrets() -> Iterator[None]:
    logsafety.forget_all()
    yield
    logsafety.forget_all()


# -- URL shapes -------------------------------------------------------------------------------

_UNRESERVED = "abcdefghijklmnopqrstuvwxyABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
_SUB_DELIMS = "!$&'()*+,;="
_PCT = st.sampled_from(["%20", "%2F", "%3F", "%23", "%40", "%3A", "%25", "%E7%A7%98"])
# RFC 3986 userinfo: unreserved, sub-delims, ":" (password only) and percent-encodings.
_userinfo_text = st.lists(st.one_of(st.sampled_from(list(_UNRESERVED + _SUB_DELIMS)), _PCT),
                          max_size=8).map("".join)
# A query or fragment: anything but ASCII blanks (which end a URL in plain text). Raw
# quotes, backslashes, "@", "?", "#", "%" and unicode included: the encoders escape them.
_tail_text = st.text(
    st.characters(blacklist_characters=" \t\n\r\f\v", blacklist_categories=("Cs",)),
    max_size=10)
_label = st.text("abcdefghijklmnopqrstuvwxy0123456789", min_size=1, max_size=8)


@st.composite
def _host(draw: st.DrawFn) -> tuple[str, tuple[str, ...]]:
    """A host and the tokens of it that must stay visible."""
    kind = draw(st.sampled_from(["name", "ipv4", "ipv6"]))
    if kind == "ipv4":
        return f"192.0.2.{draw(st.integers(0, 255))}", ("192.0.2.",)
    if kind == "ipv6":
        return f"[2001:db8::{draw(st.integers(1, 0xffff)):x}]", ("2001", "db8")
    return f"{draw(_label)}.{HOST_MARK}.example", (f".{HOST_MARK}.example",)


_segment = st.text(
    st.characters(blacklist_characters=" \t\n\r\f\v/?#%\\\"'", blacklist_categories=("Cs",)),
    min_size=1, max_size=6)


@st.composite
def _pairs(draw: st.DrawFn, mark: str) -> str:
    """key=value pairs joined by & or ;, the marker in a value (and at the very end)."""
    pairs = draw(st.lists(st.tuples(_tail_text, _tail_text), min_size=1, max_size=3))
    text = draw(st.sampled_from("&;")).join(f"{k}={v}" for k, v in pairs)
    return f"{mark}{text}={mark}" if draw(st.booleans()) else f"a={text}{mark}"


@st.composite
def urls(draw: st.DrawFn) -> tuple[str, tuple[str, ...], bool]:
    """A URL, the tokens that must stay visible, and whether it has any secret part."""
    scheme = draw(st.sampled_from(["rtmp", "rtmps", "RTMP", "http", "https", "srt", "a+b.c-d"]))
    host, visible = draw(_host())
    userinfo = ""
    if draw(st.booleans()):
        userinfo = USER + draw(_userinfo_text)
        if draw(st.booleans()):
            userinfo += ":" + draw(_userinfo_text) + PASSWORD + draw(_userinfo_text)
        userinfo += "@"
    port = draw(st.one_of(st.none(), st.integers(1, 65535)))
    segments = draw(st.lists(_segment, max_size=3))
    path = "/" + "/".join([PATH_MARK, *segments])
    query = draw(st.one_of(st.none(), _pairs(QUERY)))
    fragment = draw(st.one_of(st.none(), _tail_text.map(lambda t: f"{t}{FRAGMENT}")))
    url = f"{scheme}://{userinfo}{host}{'' if port is None else f':{port}'}{path}"
    url += "" if query is None else f"?{query}"
    url += "" if fragment is None else f"#{fragment}"
    return url, (*visible, PATH_MARK), bool(userinfo or query is not None or fragment)


# -- how texts carry URLs ---------------------------------------------------------------------

def _go_json(value: Any) -> str:
    """JSON as Go's encoder (kubectl) writes it: & < > as \\u0026 \\u003c \\u003e."""
    return (json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            .replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def _manifest(url: str) -> dict[str, Any]:
    return {"apiVersion": "mpu-operator.io/v1alpha1", "kind": "MPUTask",
            "spec": {"streamURL": url, "layout": {"layoutIds": [1]}}}


def _last_applied(url: str) -> str:
    return json.dumps({"metadata": {"annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": _go_json(_manifest(url)) + "\n"}}})


EMBEDDINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda u: f"push to {u} failed",
    "json": lambda u: json.dumps(_manifest(u)),
    "json-unicode": lambda u: json.dumps(_manifest(u), ensure_ascii=False),
    "json-escaped-slashes": lambda u: json.dumps(_manifest(u)).replace("/", "\\/"),
    "go-json": lambda u: _go_json(_manifest(u)),
    "last-applied": _last_applied,
    "repr-of-last-applied": lambda u: repr({"body": _last_applied(u)}),
    "dict-repr": lambda u: f"Patching with: {_manifest(u)!r}",
    "exception-repr": lambda u: repr(ValueError(f"bad url {u}", [u])),
    "yaml": lambda u: yaml.safe_dump(_manifest(u)),
    "yaml-unicode": lambda u: yaml.safe_dump(_manifest(u), allow_unicode=True),
    "yaml-folded": lambda u: yaml.safe_dump(_manifest(u), width=24),
    "repr-of-json": lambda u: repr(json.dumps(_manifest(u))),
    "percent": lambda u: f"POST / StreamURL={quote(u, safe='')}&TaskId=t1",
    "percent-twice": lambda u: f"sign {quote(quote(u, safe=''), safe='')}",
}


def _assert_safe(text: str, out: str, visible: tuple[str, ...]) -> None:
    for mark in SECRET_MARKS:
        assert mark not in out, f"{mark} survived in {out!r} (from {text!r})"
    for token in visible:
        assert token in out, f"{token!r} was lost from {out!r} (from {text!r})"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=urls(), how=st.sampled_from(sorted(EMBEDDINGS)))
def test_no_secret_part_of_any_url_survives_in_any_spelling(
        url: tuple[str, tuple[str, ...], bool], how: str) -> None:
    text = EMBEDDINGS[how](url[0])
    _assert_safe(text, scrub(text), url[1])


@settings(max_examples=150, deadline=None)
@given(many=st.lists(urls(), min_size=2, max_size=4), how=st.sampled_from(sorted(EMBEDDINGS)),
       between=st.sampled_from([" ", ", ", ",", "\n", ""]))
def test_several_urls_in_one_text(many: list[tuple[str, tuple[str, ...], bool]],
                                  how: str, between: str) -> None:
    text = EMBEDDINGS[how](between.join(u for u, _, _ in many))
    out = scrub(text)
    for mark in SECRET_MARKS:
        assert mark not in out, f"{mark} survived in {out!r} (from {text!r})"


@settings(max_examples=150, deadline=None)
@given(url=urls(), how=st.sampled_from(["plain", "json", "go-json", "dict-repr", "yaml"]))
def test_a_url_without_secrets_is_left_as_it_is(url: tuple[str, tuple[str, ...], bool],
                                               how: str) -> None:
    if url[2]:
        return
    text = EMBEDDINGS[how](url[0])
    assert scrub(text) == text


@settings(max_examples=100, deadline=None)
@given(url=urls(), how=st.sampled_from(sorted(EMBEDDINGS)))
def test_scrubbing_twice_changes_nothing_more(url: tuple[str, tuple[str, ...], bool],
                                              how: str) -> None:
    once = scrub(EMBEDDINGS[how](url[0]))
    assert scrub(once) == once


# -- the spellings the issue names, one by one -----------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("rtmp://user:pass@push.example.com/live/x",
     f"rtmp://{REDACTED}@push.example.com/live/x"),
    ("rtmp://push.example.com/live/x#token=abc", f"rtmp://push.example.com/live/x#{REDACTED}"),
    ("rtmp://push.example.com/live/x?auth_key=abc&b=1",
     f"rtmp://push.example.com/live/x?{REDACTED}"),
    ('"rtmp://push.example.com/live/x?a=1\\u0026auth_key=abc"',
     f'"rtmp://push.example.com/live/x?{REDACTED}"'),
    ('"rtmp:\\/\\/push.example.com\\/live\\/x?auth_key\\u003dabc"',
     f'"rtmp:\\/\\/push.example.com\\/live\\/x?{REDACTED}"'),
    ('{\\"streamURL\\":\\"rtmp://u:p@h.example/live?k=abc\\u0026b=2\\"}',
     f'{{\\"streamURL\\":\\"rtmp://{REDACTED}@h.example/live?{REDACTED}\\"}}'),
    ("rtmp://push.example.com/live/x%3Fauth_key%3Dabc",
     f"rtmp://push.example.com/live/x%3F{REDACTED}"),
    ("StreamURL=rtmp%3A%2F%2Fu%3Ap%40h.example%2Flive%3Fauth_key%3Dabc&TaskId=t1",
     f"StreamURL=rtmp%3A%2F%2F{REDACTED}%40h.example%2Flive%3F{REDACTED}&TaskId=t1"),
    ("rtmp://[2001:db8::1]:1935/live?k=abc", f"rtmp://[2001:db8::1]:1935/live?{REDACTED}"),
    ("rtmp://u%3Fx:p%2Fw@h.example/live", f"rtmp://{REDACTED}@h.example/live"),
    ("'rtmp://h.example/live?k=it\\'s-secret' and more",
     f"'rtmp://h.example/live?{REDACTED}' and more"),
    ("streamURL: 'rtmp://h.example/live?k=it''s-secret'\n",
     f"streamURL: 'rtmp://h.example/live?{REDACTED}'\n"),
    ("AccessKeySecret=abc123&SignatureNonce=1", f"AccessKeySecret={REDACTED}&SignatureNonce=1"),
    ('{"SecurityToken": "CAIS+tok/en=="}', f'{{"SecurityToken": "{REDACTED}"}}'),
    ("password: must not be empty", "password: must not be empty"),
    ("started task t-1 on rtmp://push.example.com/live/x",
     "started task t-1 on rtmp://push.example.com/live/x"),
])
def test_each_spelling(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_remembered_secrets_go_in_every_spelling() -> None:
    remember("s3cr/et+val=ue")
    for spelt in ("s3cr/et+val=ue", quote("s3cr/et+val=ue", safe=""),
                  quote(quote("s3cr/et+val=ue", safe=""), safe=""), "s3cr\\/et+val=ue"):
        assert "et+val" not in scrub(f"x {spelt} y").replace("%2B", "+"), spelt
    assert scrub("abc") == "abc"
    remember("abc")  # too short to be a secret worth the name: ignored
    assert scrub("abc") == "abc"


def test_remembering_a_url_remembers_its_secret_parts() -> None:
    remember("rtmp://alice:hunter2pw@h.example/live?auth_key=1700000000-0-0-f00d#fragtoken")
    out = scrub("the service said: key 1700000000-0-0-f00d expired; user alice:hunter2pw; "
                "fragtoken")
    for secret in ("1700000000-0-0-f00d", "hunter2pw", "fragtoken"):
        assert secret not in out


def test_remember_ignores_what_is_not_a_string() -> None:
    remember(None)
    remember(12345)  # type: ignore[arg-type]
    assert scrub("12345") == "12345"


def test_scrub_is_total() -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("rtmp://u:p@h/x?k=zzQUERYzz")

    assert "zzQUERYzz" not in scrub(Hostile())
    assert scrub(None) == "None"
    assert scrub(b"rtmp://h/x?k=v") == f"b'rtmp://h/x?{REDACTED}'"
    for text in ("://", "rtmp://", "rtmp://@", "://?#", "\\" * 20 + "://", "'rtmp://", "%3A%2F%2F",
                 "rtmp://[::1", "\x00://\udcff?x"):
        scrub(text)


# -- bounded time on hostile lines ------------------------------------------------------------

_HOSTILE: dict[str, Callable[[int], str]] = {
    "letters": lambda n: "a" * n,
    "backslashes": lambda n: "\\" * n,
    "separators": lambda n: "a://" * (n // 4),
    "separators-queries": lambda n: "a://b/?" * (n // 7),
    "quoted-ats": lambda n: "'a://b@" * (n // 7),
    "one-url-many-ats": lambda n: "a://" + "@" * n,
    "percent": lambda n: "%25" * (n // 3),
    "escaped-quotes": lambda n: '"rtmp://h/x?' + '\\\\\\"' * (n // 4),
    "backslash-runs": lambda n: "a://\\@" + ("\\" * 7 + "x") * (n // 8),
    "unicode-escapes": lambda n: "\\u003a\\u002f" * (n // 12),
    "pairs": lambda n: '"password": "' * (n // 14),
    "json": lambda n: '{"u":"rtmp://h/x?k=v\\u0026a=b"},' * (n // 32),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shape", sorted(_HOSTILE))
def test_a_one_megabyte_hostile_line_is_scrubbed_whole(shape: str) -> None:
    """A hang guard, not a speed test (speed is measured by `make bench`): catastrophic
    backtracking on these shapes takes hours, far past the deadline; linear takes < 1 s."""
    remember("a-remembered-secret")
    text = _HOSTILE[shape](1_000_000) + " rtmp://h/x?k=zzTAILzz a-remembered-secret"
    out = scrub(text)
    assert "zzTAILzz" not in out and "a-remembered-secret" not in out


def test_too_many_urls_in_one_text_withholds_the_rest() -> None:
    text = "rtmp://h/x " * logsafety.MAX_URLS + "rtmp://h/x?k=zzQUERYzz"
    out = scrub(text)
    assert "zzQUERYzz" not in out and out.endswith(REDACTED)


# -- logging: every record, every handler -----------------------------------------------------

@pytest.fixture
def installed() -> Iterator[None]:
    """install() for one test, then every global it touched put back."""
    from kopf._core.engines import posting
    saved = (logging.getLogRecordFactory(), sys.excepthook, threading.excepthook,
             posting.enqueue, list(logging.getLogger().handlers))
    filters = {h: list(h.filters) for h in logging.getLogger().handlers}
    logsafety.install(["testsecret"])
    yield
    logging.setLogRecordFactory(saved[0])
    sys.excepthook, threading.excepthook, posting.enqueue = saved[1], saved[2], saved[3]
    logging.captureWarnings(False)
    for handler, kept in filters.items():
        handler.filters[:] = kept


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def child_handler() -> Iterator[_Keep]:
    """A handler below the root, where kopf's Event poster sits (kopf.objects)."""
    keep = _Keep()
    log = logging.getLogger("test.logsafety.child")
    log.addHandler(keep)
    log.setLevel(logging.DEBUG)
    yield keep
    log.removeHandler(keep)


def test_a_handler_below_the_root_sees_only_scrubbed_records(installed: None,
                                                             child_handler: _Keep) -> None:
    log = logging.getLogger("test.logsafety.child")
    body = {"spec": {"streamURL": "rtmp://u:zzPASSzz@h/live?k=zzQUERYzz\\u0026a=1"}}
    log.debug("Patching with: %r", body)
    log.info("secret %s", "testsecret")
    try:
        raise ValueError(f"bad {body}")
    except ValueError:
        log.exception("failed")
    log.warning("stack", stack_info=True, extra={"x": "rtmp://h/x#zzFRAGzz"})
    text = "\n".join(child_handler.lines)
    assert "Patching with" in text and "ValueError" in text and "Traceback" in text
    for secret in ("zzPASSzz", "zzQUERYzz", "testsecret"):
        assert secret not in text


def test_uncaught_exceptions_are_printed_scrubbed(installed: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    try:
        raise RuntimeError("rtmp://u:zzPASSzz@h/x?k=zzQUERYzz")
    except RuntimeError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    err = capsys.readouterr().err
    assert "RuntimeError" in err and "zzPASSzz" not in err and "zzQUERYzz" not in err


# -- kopf's Events ----------------------------------------------------------------------------

def _queued_events(post: Callable[[dict[str, Any]], None]) -> list[Any]:
    """Run ``post(body)`` as a handler would, and return what kopf queued to post."""
    import kopf
    from kopf._core.engines import posting

    async def run() -> list[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        posting.event_queue_var.set(queue)
        posting.event_queue_loop_var.set(asyncio.get_running_loop())
        settings = kopf.OperatorSettings()
        settings.posting.level = logging.DEBUG
        settings.posting.loggers = True  # off by default since kopf 1.45: covered either way
        posting.settings_var.set(settings)
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "x", "namespace": "ns", "uid": "u1"}}
        post(body)
        await asyncio.sleep(0)
        return [queue.get_nowait() for _ in range(queue.qsize())]
    return asyncio.run(run())


def _object_logger_error(body: dict[str, Any]) -> None:
    import kopf
    from kopf._core.actions.loggers import ObjectLogger
    from kopf._core.engines import posting
    settings = posting.settings_var.get()
    ObjectLogger(body=kopf.Body(body), settings=settings).error(
        "failed on %s", "rtmp://u:zzPASSzz@h/x?k=zzQUERYzz")


_SECRET_URL = "rtmp://u:zzPASSzz@h.example/live?k=zzQUERYzz#zzFRAGzz"
_POSTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "info": lambda b: __import__("kopf").info(b, reason="R", message=f"on {_SECRET_URL}"),
    "warn": lambda b: __import__("kopf").warn(b, reason="R", message=f"on {_SECRET_URL}"),
    "event": lambda b: __import__("kopf").event(b, type="Normal", reason="R",
                                                  message=json.dumps({"u": _SECRET_URL})),
    "exception": lambda b: __import__("kopf").exception(b, exc=ValueError(_SECRET_URL)),
    "object-logger": _object_logger_error,
}


@pytest.mark.parametrize("how", sorted(_POSTS))
def test_every_kind_of_kopf_event_is_scrubbed(installed: None, how: str) -> None:
    events = _queued_events(_POSTS[how])
    assert events, "nothing was queued: kopf's posting path changed?"
    for event in events:
        assert "h.example" in event.message or "h/x" in event.message
        for mark in SECRET_MARKS:
            assert mark not in event.message, event


def test_installing_twice_hooks_once(installed: None) -> None:
    from kopf._core.engines import posting
    hooked, factory = posting.enqueue, logging.getLogRecordFactory()
    logsafety.install()
    assert posting.enqueue is hooked and logging.getLogRecordFactory() is factory
