"""Outgoing HTTP for ingestion: timeouts, retries with backoff, a descriptive User-Agent,
conditional requests and a size limit. ``build_session`` is the one seam tests replace.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests
from django.conf import settings

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
    return session


def http_get(
    url: str,
    *,
    session: requests.Session | None = None,
    etag: str = "",
    last_modified: str = "",
) -> FetchResult:
    """GET ``url``, retrying timeouts, connection errors, 429 and 5xx with exponential backoff.

    Sends If-None-Match / If-Modified-Since when validators are given; a 304 gives
    ``content=None``. Raises FetchError naming the URL when it gives up.
    """
    session = session or build_session()
    headers = {"Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    attempts = settings.INGEST_HTTP_RETRIES + 1
    for attempt in range(attempts):
        try:
            response = session.get(
                url, headers=headers, timeout=settings.INGEST_HTTP_TIMEOUT, stream=True
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            problem, retry_after = f"{type(exc).__name__}: {str(exc)[:200]}", None
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
                    return _result(url, response)
                problem = f"HTTP {response.status_code}"
                retry_after = _retry_after(response.headers.get("Retry-After"))
        if attempt + 1 < attempts:
            delay = (
                retry_after
                if retry_after is not None
                else settings.INGEST_HTTP_BACKOFF * 2**attempt
            )
            logger.warning("GET %s: %s; retrying in %.1fs", url, problem, delay)
            time.sleep(delay)
    raise FetchError(f"{problem} after {attempts} attempts", input_name=url, transient=True)


def _result(url: str, response: requests.Response) -> FetchResult:
    if response.status_code >= 400:
        raise FetchError(f"HTTP {response.status_code}", input_name=url, transient=False)
    limit = settings.INGEST_MAX_BYTES
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > limit:
                raise FetchError(
                    f"response larger than {limit:,} bytes", input_name=url, transient=False
                )
            chunks.append(chunk)
    except (requests.RequestException, OSError) as exc:
        raise FetchError(
            f"reading the response failed: {str(exc)[:200]}", input_name=url, transient=True
        ) from None
    return FetchResult(
        url=url,
        content=b"".join(chunks),
        etag=response.headers.get("ETag", "")[:500],
        last_modified=response.headers.get("Last-Modified", "")[:100],
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None
