"""Fixtures for the ingest tests: recorded payloads and the one network seam."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPResponse

DATA = Path(__file__).resolve().parent.parent / "data"
LISTINGS = DATA / "listings"


def data(relative: str) -> bytes:
    return (DATA / relative).read_bytes()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: type[Exception] | None = None


class FixtureTransport(BaseAdapter):
    """Answers requests from a table of URL -> replies (the last reply repeats); records them."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[requests.PreparedRequest] = []

    def add(self, url: str, *replies: Reply) -> None:
        self.routes[url] = list(replies)

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self.requests.append(request)
        replies = self.routes.get(request.url)
        if replies is None:
            reply = Reply(status=404, body=b"not found")
        else:
            reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if reply.error is not None:
            raise reply.error(f"simulated {reply.error.__name__}")
        raw = HTTPResponse(
            body=io.BytesIO(reply.body),
            headers=reply.headers,
            status=reply.status,
            preload_content=False,
        )
        return HTTPAdapter().build_response(request, raw)

    def close(self) -> None:
        pass


@pytest.fixture
def transport(monkeypatch, settings) -> FixtureTransport:
    """Every session newsletter.papers.http builds talks to this transport instead of the network."""
    from newsletter.papers import http

    settings.INGEST_HTTP_BACKOFF = 0
    fake = FixtureTransport()
    real_build: Callable[[], requests.Session] = http.build_session

    def build_session() -> requests.Session:
        session = real_build()
        session.mount("http://", fake)
        session.mount("https://", fake)
        return session

    monkeypatch.setattr(http, "build_session", build_session)
    return fake
