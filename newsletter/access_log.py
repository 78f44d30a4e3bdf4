"""gunicorn's access log without the signed tokens of subscriber links.

A token in a path (``/preferences/<token>/``) works for months: anyone who reads the log could
manage that subscription. Every value the log line can show (request line, path, referrer,
``Location`` and other headers) has the token replaced by ``<token>``. ``bin/web`` installs the
logger with ``--logger-class``; the settings put the filter on Django's own log handler.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

# The pages of signed links (subscriptions, feedback, digest web copies; a test checks every ``<token>`` route).
_TOKEN_AFTER_PREFIX = re.compile(
    r"(/(?:confirm|preferences|unsubscribe|email/confirm|feedback|d)/)[^/?#\s\"']+", re.IGNORECASE
)


def path_redact(text: str) -> str:
    """``/preferences/abc:def:ghi/status/`` -> ``/preferences/<token>/status/``."""
    return _TOKEN_AFTER_PREFIX.sub(r"\1<token>", text)


class RedactTokensFilter(logging.Filter):
    """The same for Django's own log lines ("Bad Request: /preferences/<token>/")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = path_redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(path_redact(a) if isinstance(a, str) else a for a in record.args)
        return True


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: path_redact(value) if isinstance(value, str) and key != "t" else value
            for key, value in atoms.items()
        }
