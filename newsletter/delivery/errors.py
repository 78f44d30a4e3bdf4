"""What a failed send means: try again later, never, or nobody knows.

Every exception a backend can raise is sorted into one ``SendError`` subclass:

- ``TransientError``: nothing was accepted and trying later may work (connection refused or a
  timeout before the request left, HTTP 429 and 5xx, SMTP 4xx). Retried with backoff.
- ``PermanentError``: it will not work (other HTTP 4xx, SMTP 5xx, a message that cannot be built).
  ``RecipientError`` is the permanent kind that is about the address: it suppresses it.
- ``UncertainError``: the request went out and the answer was lost (connection dropped or timed
  out mid-send). The message may have been delivered: never resent automatically.
"""

from __future__ import annotations

import smtplib
import socket
import ssl

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)


class SendError(Exception):
    pass


class TransientError(SendError):
    pass


class PermanentError(SendError):
    pass


class RecipientError(PermanentError):
    pass


class UncertainError(SendError):
    pass


def _describe(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # some exceptions cannot describe themselves without a response
        text = repr(error.args)
    return f"{type(error).__name__}: {text}"[:1000]


def _smtp_code(code: int, error: BaseException) -> SendError:
    if 400 <= code < 500:
        return TransientError(_describe(error))
    return PermanentError(_describe(error))


def classify_open_error(error: BaseException) -> SendError:
    """An error while connecting: nothing was sent yet."""
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500:
        return PermanentError(_describe(error))  # e.g. authentication refused
    return TransientError(_describe(error))


def classify_send_error(error: BaseException) -> SendError:
    """An error raised while a message was being handed over."""
    if isinstance(error, SendError):
        return error
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            return TransientError(_describe(error))
        return RecipientError(_describe(error))
    if isinstance(error, smtplib.SMTPResponseException):  # SMTPDataError, SMTPSenderRefused, ...
        return _smtp_code(error.smtp_code, error)
    if isinstance(error, smtplib.SMTPServerDisconnected | socket.timeout | ssl.SSLError):
        # The server went away mid-conversation: the message may have been accepted.
        return UncertainError(_describe(error))
    if isinstance(error, ConnectionRefusedError | socket.gaierror):
        return TransientError(_describe(error))
    if isinstance(error, AnymailRecipientsRefused | AnymailInvalidAddress):
        return RecipientError(_describe(error))
    if isinstance(error, AnymailRequestsAPIError) and getattr(error, "status_code", None) is None:
        return _classify_requests_cause(error)
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        if status is None:
            return UncertainError(_describe(error))
        if status == 429 or status >= 500:
            return TransientError(_describe(error))
        return PermanentError(_describe(error))
    if isinstance(error, AnymailError):  # configuration, unsupported feature, serialisation
        return PermanentError(_describe(error))
    if isinstance(error, OSError):
        return UncertainError(_describe(error))
    return PermanentError(_describe(error))


def _classify_requests_cause(error: BaseException) -> SendError:
    import requests

    cause = error.__cause__ or error.__context__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return TransientError(_describe(error))
    if isinstance(cause, requests.exceptions.ConnectionError):
        text = repr(cause)
        if "NewConnectionError" in text or "ConnectionRefused" in text or "NameResolution" in text:
            return TransientError(_describe(error))
    return UncertainError(_describe(error))
