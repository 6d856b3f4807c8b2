"""Keep secrets out of every log line and every Event, whoever writes them.

kopf logs whole object bodies at debug level (``--verbose``), posts log messages as
Kubernetes Events, and a spec's ``streamURL`` may carry the CDN auth key in its query, a
password in its userinfo, or a token in its fragment. Rather than trusting every writer
(ours, kopf's, aiohttp's, a traceback's) we scrub text on its way out:

* :func:`scrub` removes, from any URL-like text, the userinfo, the query and the fragment,
  however the URL is spelt: plain, backslash-escaped (``\\/``), JSON ``\\u``-escaped (kubectl's
  last-applied annotation writes ``&`` as ``\\u0026``) or percent-encoded (once or twice);
  ``key=value`` pairs with a credential's name; and every literal secret this process knows
  (:func:`remember`). It never raises and runs in linear time (no regex backtracking).
* :func:`install` makes every log record pass through it (a record factory, so handlers
  attached below the root, such as kopf's Event poster, see scrubbed records too), hooks
  kopf's Event queue so that ``kopf.info``/``kopf.warn``/``kopf.event`` messages are
  scrubbed, and routes uncaught exceptions and warnings through logging.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

REDACTED = "<redacted>"
#: Shorter values are not remembered: they would redact ordinary words, not secrets.
MIN_SECRET = 4
#: Remembered secrets kept at most; the oldest go first (a rotated-away value, usually).
MAX_SECRETS = 4096

# -- how one character may be spelt in a log line ------------------------------------------
# Bounded repetitions only: an unbounded ``\\*`` would rescan a 1 MB run of backslashes
# from every position (quadratic time). Eight backslashes cover three levels of nesting.
# Each alternative starts with a literal so that the regex engine can skip ahead quickly.


def _spelt(chars: str, *, percent: bool = True) -> str:
    """Regex for any of ``chars`` raw, backslash-escaped, ``\\u00hh`` or ``%hh``-encoded."""
    cls = "[" + "".join("\\" + c for c in chars) + "]"
    codes = "(?:" + "|".join(f"{ord(c):02x}" for c in chars) + ")"
    forms = [cls, r"\\{1,8}+(?:" + cls + "|u00" + codes + ")"]
    if percent:
        forms.append(r"%(?:25){0,3}" + codes)
    return "(?:" + "|".join(forms) + ")"


_FLAGS = re.IGNORECASE | re.ASCII
# "://" in any spelling: where a URL starts (the scheme before it is optional to us).
_SEPARATOR = re.compile(_spelt(":") + _spelt("/") + "{2}", _FLAGS)
_SCHEME_CHAR = re.compile(r"[A-Za-z0-9+.\-]")
_SPACE = re.compile(r"[ \t\n\r\f\v]")
_SPACE_OR_AMP = re.compile(r"[ \t\n\r\f\v&]")
# Where the authority (userinfo@host:port) ends. For a plain URL a percent-encoded "/", "?"
# or "#" is a legal part of a password, so only the spelt-out characters end it there.
_AUTHORITY_END = re.compile(r"[ \t\n\r\f\v]|" + _spelt("/?#", percent=False), _FLAGS)


@functools.lru_cache(maxsize=8)
def _authority_end_percent(level: int) -> re.Pattern[str]:
    """The authority's end in a URL percent-encoded ``level`` times: "/", "?", "#" encoded
    exactly that often (one more "%25" is a character of the URL itself, e.g. a password's).
    """
    codes = "%" + "25" * (level - 1) + "(?:2f|3f|23)"
    return re.compile(r"[ \t\n\r\f\v&]|" + _spelt("/?#", percent=False) + "|" + codes,
                      _FLAGS)


_PERCENT_LEVEL = re.compile(r"%((?:25)*)")
# "@" spelt every way, lower case, for a search from the right.
_AT_FORMS = ("@", "\\u0040", "%40", "%2540", "%252540", "%25252540")
# Where the secret tail starts: a query or a fragment, in any spelling, percent too.
_QUERY_OR_FRAGMENT = re.compile(_spelt("?#"), _FLAGS)
# ``AccessKeySecret=...``, ``"SecurityToken": "..."``: credential-named pairs anywhere.
# A bare ``password: must not be empty`` (our own messages) is left alone.
_PAIR_KEYS = ("accesskeysecret", "securitytoken", "signature", "passw")
_SECRET_PAIR = re.compile(
    r"(AccessKeySecret|SecurityToken|Signature|password|passwd)"
    r"([ \t]{0,8}(?:=|%(?:25){0,3}3D)[ \t]{0,8}"
    r"|\\{0,8}[\"'][ \t]{0,8}:[ \t]{0,8}\\{0,8}[\"'])"
    r"(?!<redacted>)[^\s\"'\\&,;}]+",
    _FLAGS)
#: URLs cut apart per text at most; the rest of a text with more is withheld (fail closed),
#: so that a line of 300,000 tiny URLs costs no more than a normal one.
MAX_URLS = 10_000


class _Finder:
    """``pattern.search`` from non-decreasing positions, each match found once.

    Many URLs on one line would otherwise rescan the same tail for every URL; remembering
    the last answer keeps the whole scrub linear in the line's length.
    """

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self.pattern, self.text = pattern, text
        self.searched_from = -1
        self.match: re.Match[str] | None = None

    def next(self, pos: int) -> re.Match[str] | None:
        if self.searched_from >= 0 and self.searched_from <= pos and (
                self.match is None or self.match.start() >= pos):
            return self.match
        self.searched_from, self.match = pos, self.pattern.search(self.text, pos)
        return self.match


class _UrlScrubber:
    """One pass over one text: find each ``://`` and cut what follows it apart."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.edits: list[tuple[int, int]] = []  # [start, end) spans replaced by REDACTED
        self.finders: dict[Any, _Finder] = {}

    def find(self, key: Any, pattern: re.Pattern[str], pos: int) -> re.Match[str] | None:
        finder = self.finders.get(key)
        if finder is None:
            finder = self.finders[key] = _Finder(pattern, self.text)
        return finder.next(pos)

    def run(self) -> str:
        pos, count = 0, 0
        while (sep := self.find("sep", _SEPARATOR, pos)) is not None:
            count += 1
            if count > MAX_URLS:
                self.edits.append((sep.start(), len(self.text)))
                break
            pos = self._one_url(sep)
        return self._apply()

    def _one_url(self, sep: re.Match[str]) -> int:
        start = sep.end()
        level = max((len(m.group(1)) // 2 + 1
                     for m in _PERCENT_LEVEL.finditer(sep.group(0))), default=0)
        percent = level > 0
        end = self._span_end(sep.start(), start, percent)
        authority = self.find(("auth", level),
                              _authority_end_percent(level) if percent else _AUTHORITY_END,
                              start)
        auth_end = min(authority.start(), end) if authority is not None else end
        rest = self._userinfo_end(start, auth_end)
        if rest > start:
            self.edits.append((start, self._at_start(rest)))
        tail = self.find("qf", _QUERY_OR_FRAGMENT, rest)
        after = self.find("sep", _SEPARATOR, rest)  # the next URL, if it comes first
        if tail is None or tail.start() >= end or (after and after.start() < tail.start()):
            return max(auth_end, start)
        secret_end = end
        while secret_end > tail.end() and self.text[secret_end - 1] == "\\":
            secret_end -= 1  # they escape the closing quote: keep them
        if secret_end > tail.end():
            self.edits.append((tail.end(), secret_end))
        return end

    def _userinfo_end(self, start: int, auth_end: int) -> int:
        """Just past the authority's last "@" (however spelt), or ``start`` if it has none."""
        region = self.text[start:auth_end].lower()
        best = start
        for form in _AT_FORMS:
            found = region.rfind(form)
            if found >= 0:
                best = max(best, start + found + len(form))
        return best

    def _at_start(self, at_end: int) -> int:
        """Where the "@" that ends at ``at_end`` begins (with its escaping backslashes)."""
        tail = self.text[max(0, at_end - 20):at_end].lower()
        for form in _AT_FORMS[::-1]:
            if tail.endswith(form):
                begin = at_end - len(form)
                while begin > 0 and at_end - begin < len(form) + 8 \
                        and self.text[begin - 1] == "\\":
                    begin -= 1
                return begin
        return at_end

    def _span_end(self, sep_start: int, start: int, percent: bool) -> int:
        """Where this URL ends: its closing quote if it was quoted, else a blank."""
        quote_char, slashes = self._opener(sep_start)
        if quote_char is None:
            pattern = _SPACE_OR_AMP if percent else _SPACE
            pos = start
            while (found := self.find(("space", percent), pattern, pos)) is not None:
                at = found.start()
                if not (self.text[at - 1] == "\\" and self.text[at] in "\r\n"):
                    return at
                # An escaped line break (YAML folds long double-quoted scalars so): the
                # value goes on after the next line's indentation.
                pos = at + 1
                while pos < len(self.text) and self.text[pos] in " \t\r\n":
                    pos += 1
            return len(self.text)
        closer = _closing_quote(quote_char, slashes)
        pos = start
        while (found := self.find(("quote", quote_char, slashes), closer, pos)) is not None:
            # YAML doubles a single quote inside '...': that is not the end.
            if quote_char == "'" and slashes == 0 and self.text.startswith("''", found.end() - 1):
                pos = found.end() + 1
                continue
            return found.start()
        return len(self.text)

    def _opener(self, sep_start: int) -> tuple[str | None, int]:
        """The quote (and its escaping backslashes) just before the URL's scheme, if any."""
        i = sep_start
        while i > 0 and sep_start - i < 64 and _SCHEME_CHAR.match(self.text, i - 1):
            i -= 1
        if i == 0 or self.text[i - 1] not in "\"'":
            return None, 0
        quote_char, j = self.text[i - 1], i - 1
        while j > 0 and i - 1 - j < 9 and self.text[j - 1] == "\\":
            j -= 1
        slashes = i - 1 - j
        return (quote_char, slashes) if slashes <= 8 else (None, 0)

    def _apply(self) -> str:
        if not self.edits:
            return self.text
        out, pos = [], 0
        for begin, end in sorted(self.edits):
            if begin < pos:
                begin = pos
            if end <= begin:
                continue
            out += [self.text[pos:begin], REDACTED]
            pos = end
        out.append(self.text[pos:])
        return "".join(out)


@functools.lru_cache(maxsize=64)
def _closing_quote(quote_char: str, slashes: int) -> re.Pattern[str]:
    """The quote with exactly as many backslashes as the opener: inner ones have more."""
    return re.compile(r"(?<!\\)" + r"\\" * slashes + re.escape(quote_char))


def scrub_urls(text: str) -> str:
    """``text`` with the userinfo, query and fragment of every URL in it redacted."""
    return _UrlScrubber(text).run()


# -- secrets known by value -----------------------------------------------------------------

class _Known:
    """The literal secrets this process has seen, in every spelling a log might use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[str, tuple[str, ...]] = {}
        self.forms: tuple[str, ...] = ()

    def add(self, secret: str) -> None:
        if len(secret) < MIN_SECRET:
            return
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets[secret] = _spellings(secret)
            while len(self._secrets) > MAX_SECRETS:
                del self._secrets[next(iter(self._secrets))]
            forms = {f for spelt in self._secrets.values() for f in spelt}
            self.forms = tuple(sorted(forms, key=len, reverse=True))

    def clear(self) -> None:
        with self._lock:
            self._secrets.clear()
            self.forms = ()


def _spellings(secret: str) -> tuple[str, ...]:
    once = quote(secret, safe="")
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, once, quote(once, safe=""), quote(secret, safe="/:@"),
             escaped, json.dumps(secret, ensure_ascii=False)[1:-1],
             escaped.replace("/", "\\/"), repr(secret)[1:-1]}
    return tuple(f for f in forms if len(f) >= MIN_SECRET)


_KNOWN = _Known()


def remember(secret: str | None) -> None:
    """Never show ``secret`` again, in any spelling, from now on. Thread-safe.

    Call it with every credential value read at run time (an AccessKeySecret or
    SecurityToken from a ``credentialsRef`` Secret) and with every stream URL read from a
    ``streamURLFrom`` Secret. A URL is remembered by its secret parts (userinfo, password,
    query, each query value, fragment), since those may be quoted on their own, e.g. in an
    error from a library. Values shorter than :data:`MIN_SECRET` are ignored.
    """
    try:
        if not secret or not isinstance(secret, str):
            return
        _KNOWN.add(secret)
        if "://" in secret:
            for part in _url_secret_parts(secret):
                _KNOWN.add(part)
    except Exception:  # remembering must never break the caller (it only adds safety)
        return


def forget_all() -> None:
    """Drop every remembered secret (for tests)."""
    _KNOWN.clear()


def _url_secret_parts(url: str) -> set[str]:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return set()
    found = {parts.query, parts.fragment, unquote(parts.query), unquote(parts.fragment)}
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo:
        found |= {userinfo, unquote(userinfo), *userinfo.split(":", 1)}
    for pair in re.split(r"[&;]", parts.query):
        value = pair.partition("=")[2]
        found |= {value, unquote(value)}
    return {p for p in found if len(p) >= MIN_SECRET}


def _scrub_known(text: str, extra: Iterable[str]) -> str:
    for form in (*sorted((s for s in extra if s and len(s) >= MIN_SECRET), key=len,
                         reverse=True), *_KNOWN.forms):
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def _redact_pair(match: re.Match[str]) -> str:
    at = match.start()
    if at > 0 and match.string[at - 1].isascii() and match.string[at - 1].isalpha():
        return match.group(0)  # part of a longer word: not a credential's name
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def scrub(text: Any, secrets: Iterable[str] = ()) -> str:
    """``text`` safe to show: URL userinfo/query/fragment and known secrets redacted.

    Total: any input gives a string, never an exception; if scrubbing itself failed the
    whole text is withheld (failing closed). Linear time in ``len(text)`` per known secret.
    """
    try:
        text = text if isinstance(text, str) else str(text)
        text = _scrub_known(text, secrets)
        text = scrub_urls(text)
        lowered = text.lower()
        if any(key in lowered for key in _PAIR_KEYS):
            text = _SECRET_PAIR.sub(_redact_pair, text)
        return text
    except Exception:
        return "<text withheld: it could not be scrubbed>"


# -- logging ---------------------------------------------------------------------------------

_MARK = "mpu_scrubbed"


def scrub_record(record: logging.LogRecord, secrets: Iterable[str] = ()) -> logging.LogRecord:
    """Render the record's message, traceback and stack once, scrubbed; drop the raw parts.

    Arguments (often reprs of bodies or exceptions) are merged into the message first, so
    no handler or formatter can render them unscrubbed later.
    """
    if getattr(record, _MARK, False):
        return record
    try:
        message = record.getMessage()
    except Exception:
        message = f"<unrenderable log message {record.msg!r:.200}>"
    record.msg, record.args = scrub(message, secrets), ()
    if record.exc_info:
        try:
            text = logging.Formatter().formatException(record.exc_info)
        except Exception:
            text = "<unrenderable traceback>"
        record.exc_text, record.exc_info = scrub(text, secrets), None
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text, secrets)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info, secrets)
    setattr(record, _MARK, True)
    return record


class SecretScrubber(logging.Filter):
    """A filter for handlers and loggers: scrubs each record it sees (once)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= MIN_SECRET)

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record, self.secrets)
        return True


def _scrubbing_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., Any]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub_record(previous(*args, **kwargs))
    factory.mpu_scrubbing = True  # type: ignore[attr-defined]
    return factory


def install(secrets: Iterable[str] = ()) -> SecretScrubber:
    """Scrub every log record and every kopf Event from now on (call after configuring).

    ``secrets`` are remembered (see :func:`remember`). Raises RuntimeError if this kopf no
    longer has the Event queue entry point we hook: better not to start than to leak.
    """
    for secret in secrets:
        remember(secret)
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "mpu_scrubbing", False):
        logging.setLogRecordFactory(_scrubbing_factory(previous))
    scrubber = SecretScrubber()
    for handler in logging.getLogger().handlers:  # for records made by another factory
        if not any(isinstance(f, SecretScrubber) for f in handler.filters):
            handler.addFilter(scrubber)
    logging.captureWarnings(True)
    sys.excepthook = _print_uncaught
    threading.excepthook = _print_uncaught_in_thread
    guard_kopf_events()
    return scrubber


def _print_uncaught(kind: type[BaseException], exc: BaseException,
                  tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    text = "".join(traceback.format_exception(kind, exc, tb))
    print(scrub(text), file=sys.stderr, flush=True)


def _print_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _print_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


# -- kopf's Events ----------------------------------------------------------------------------

def guard_kopf_events() -> None:
    """Scrub each Event kopf is about to post, whoever asked for it.

    Every Event passes through ``kopf._core.engines.posting.enqueue``: ``kopf.event``,
    ``kopf.info``, ``kopf.warn``, ``kopf.exception`` and kopf's log-to-Event handler
    (``K8sPoster``) all call it by its module-global name, so replacing that name covers
    them all, before the message is queued, truncated or posted. Idempotent.
    """
    try:
        from kopf._core.engines import posting
    except ImportError as exc:
        raise RuntimeError("kopf's Event posting moved (kopf._core.engines.posting); "
                           "cannot scrub Events with this kopf version") from exc
    original = getattr(posting, "enqueue", None)
    if getattr(original, "mpu_scrubbing", False):
        return
    if original is None or not callable(original):
        raise RuntimeError("kopf has no posting.enqueue; cannot scrub Events with this "
                           "kopf version")
    signature = inspect.signature(original)
    if "message" not in signature.parameters:
        raise RuntimeError("kopf's posting.enqueue takes no 'message'; cannot scrub Events "
                           "with this kopf version")

    @functools.wraps(original)
    def enqueue(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)  # let kopf say what is wrong
        for name in ("message", "reason"):
            if name in bound.arguments:
                bound.arguments[name] = scrub(bound.arguments[name])
        return original(*bound.args, **bound.kwargs)

    enqueue.mpu_scrubbing = True  # type: ignore[attr-defined]
    posting.enqueue = enqueue


__all__ = ["MAX_SECRETS", "MIN_SECRET", "REDACTED", "SecretScrubber", "forget_all",
           "guard_kopf_events", "install", "remember", "scrub", "scrub_record", "scrub_urls"]
