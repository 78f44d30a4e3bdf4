"""Outgoing HTTP for ingestion: timeouts, retries with backoff, a descriptive User-Agent,
conditional requests, a size limit and a total deadline per fetch. ``build_session`` is the one
seam tests replace.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import socket
import threading
import time
from dataclasses import dataclass

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from newsletter.papers.sources import SourceError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


class FetchError(SourceError):
    """The upstream could not be read. ``transient`` errors may succeed later."""

    def __init__(self, message: str, *, input_name: str, transient: bool) -> None:
        super().__init__(message, input_name=input_name)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    content: bytes | None  # None: 304 Not Modified
    etag: str = ""
    last_modified: str = ""


def build_session() -> requests.Session:
    """A session that names us to upstream servers. Tests patch this to serve fixtures."""
    session = requests.Session()
    session.headers["User-Agent"] = settings.INGEST_USER_AGENT
    session.mount("http://", _DeadlineAdapter())
    session.mount("https://", _DeadlineAdapter())
    return session


# The monotonic time by which the fetch under way must end (set by http_get).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


class _HeadersByDeadline:
    """A connection that shuts its socket down if the response headers are still coming in at
    the fetch deadline: they are read line by line, each read with its own timeout, so a server
    sending them a byte at a time is stopped only this way."""

    sock: socket.socket | None

    def getresponse(self, *args, **kwargs):  # urllib3's own signature
        deadline, sock = _deadline.get(), self.sock
        if deadline is None or sock is None:
            return super().getresponse(*args, **kwargs)
        timer = threading.Timer(max(deadline - time.monotonic(), 0), _shut, (sock,))
        timer.daemon = True
        timer.start()
        try:
            return super().getresponse(*args, **kwargs)
        finally:
            timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, for TLS ones too


class _HTTPConnection(_HeadersByDeadline, HTTPConnection):
    pass


class _HTTPSConnection(_HeadersByDeadline, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def http_get(
    url: str,
    *,
    session: requests.Session | None = None,
    etag: str = "",
    last_modified: str = "",
) -> FetchResult:
    """GET ``url``, retrying timeouts, connection errors, 429 and 5xx with exponential backoff.

    Sends If-None-Match / If-Modified-Since when validators are given; a 304 gives
    ``content=None``. The whole fetch (every attempt, the waits between them and reading the body)
    ends within INGEST_FETCH_DEADLINE seconds: the timeout of each request is per read, so a
    server sending a byte now and then would otherwise hold it for ever. Raises FetchError naming
    the URL when it gives up.
    """
    deadline = time.monotonic() + settings.INGEST_FETCH_DEADLINE
    token = _deadline.set(deadline)
    try:
        return _get(
            url,
            session=session or build_session(),
            deadline=deadline,
            validators=(etag, last_modified),
        )
    finally:
        _deadline.reset(token)


def _get(
    url: str, *, session: requests.Session, deadline: float, validators: tuple[str, str]
) -> FetchResult:
    etag, last_modified = validators
    headers = {"Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    attempts = settings.INGEST_HTTP_RETRIES + 1
    for attempt in range(attempts):
        timeout = min(settings.INGEST_HTTP_TIMEOUT, _remaining(deadline, url))
        try:
            response = session.get(url, headers=headers, timeout=timeout, stream=True)
        except (requests.Timeout, requests.ConnectionError) as exc:
            _remaining(deadline, url)  # a request cut off by the deadline says so
            problem, retry_after = f"{type(exc).__name__}: {str(exc)[:200]}", None
            if _unreachable(exc):
                # No name or nobody listening: seconds of backoff will not change that today.
                raise FetchError(
                    f"unreachable: {problem}", input_name=url, transient=True
                ) from None
        except requests.RequestException as exc:
            raise FetchError(
                f"request failed: {str(exc)[:200]}", input_name=url, transient=False
            ) from None
        else:
            with response:
                if response.status_code == 304:
                    return FetchResult(
                        url=url, content=None, etag=etag, last_modified=last_modified
                    )
                if response.status_code not in RETRY_STATUSES:
                    return _result(url, response, deadline=deadline)
                problem = f"HTTP {response.status_code}"
                retry_after = _retry_after(response.headers.get("Retry-After"))
        if attempt + 1 < attempts:
            delay = (
                retry_after
                if retry_after is not None
                else settings.INGEST_HTTP_BACKOFF * 2**attempt
            )
            if time.monotonic() + delay >= deadline:
                raise FetchError(
                    f"{problem}; no time left to retry within the "
                    f"{settings.INGEST_FETCH_DEADLINE} s fetch deadline",
                    input_name=url,
                    transient=True,
                )
            logger.warning("GET %s: %s; retrying in %.1fs", url, problem, delay)
            time.sleep(delay)
    raise FetchError(f"{problem} after {attempts} attempts", input_name=url, transient=True)


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the host has no address or refused the connection (no network, a
    wrong name), as opposed to a timeout or a dropped connection, which a retry may cure."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, socket.gaierror | ConnectionRefusedError):
            return True
        if isinstance(item, urllib3.exceptions.NameResolutionError):
            return True
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return False


def _remaining(deadline: float, url: str) -> float:
    """Seconds left before ``deadline``; FetchError when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(
            f"took longer than the {settings.INGEST_FETCH_DEADLINE} s fetch deadline",
            input_name=url,
            transient=True,
        )
    return left


def _result(url: str, response: requests.Response, *, deadline: float) -> FetchResult:
    if response.status_code >= 400:
        raise FetchError(f"HTTP {response.status_code}", input_name=url, transient=False)
    return FetchResult(
        url=url,
        content=_body(url, response.raw, deadline=deadline),
        etag=response.headers.get("ETag", "")[:500],
        last_modified=response.headers.get("Last-Modified", "")[:100],
    )


def _body(url: str, raw: urllib3.BaseHTTPResponse, *, deadline: float) -> bytes:
    """The decoded body, read as it arrives. Before each read the socket's timeout is cut to the
    time left, so a trickling server is cut off at the deadline, not a read timeout later."""
    limit = settings.INGEST_MAX_BYTES
    chunks: list[bytes] = []
    size = 0
    while True:
        left = _remaining(deadline, url)
        sock = getattr(raw.connection, "sock", None)
        if sock is not None:
            sock.settimeout(min(settings.INGEST_HTTP_TIMEOUT, left))
        try:
            chunk = raw.read1(65536, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            _remaining(deadline, url)  # a read cut off by the deadline says so
            raise FetchError(
                f"reading the response failed: {str(exc)[:200]}", input_name=url, transient=True
            ) from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise FetchError(
                f"response larger than {limit:,} bytes", input_name=url, transient=False
            )
        chunks.append(chunk)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None
