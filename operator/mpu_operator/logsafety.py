"""Keep secrets out of every log line, whoever writes it.

kopf logs whole object bodies at debug level, and a spec's ``streamURL`` may carry the CDN
auth key in its query string. Rather than trusting every logger (ours, kopf's, aiohttp's)
we scrub each record on its way out: URL query strings, and the literal values of the
secrets this process knows (the default AccessKeySecret and SecurityToken).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_URL_QUERY = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s'\"?#\\]+)\?[^\s'\"\\]*")
REDACTED = "<redacted>"


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    text = _URL_QUERY.sub(rf"\1?{REDACTED}", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class SecretScrubber(logging.Filter):
    """A filter for handlers: renders the record once, scrubbed, and drops its args."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message, self.secrets)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info),
                                    self.secrets)
            record.exc_info = None
        record.msg, record.args = cleaned, ()
        return True


def install(secrets: Iterable[str] = ()) -> SecretScrubber:
    """Attach one scrubber to every handler of the root logger (call after configuring)."""
    scrubber = SecretScrubber(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(scrubber)
    return scrubber
