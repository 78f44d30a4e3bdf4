from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.core import mail

from newsletter.delivery import services
from newsletter.delivery.models import Delivery
from subscriptions.models import Subscriber
from tests.helpers import free_port

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://testserver"
    settings.DEFAULT_FROM_EMAIL = "Digest <digest@papers.example.org>"


@pytest.fixture
def subscriber(db) -> Subscriber:
    return Subscriber.objects.create(email="reader@example.com", status=Subscriber.Status.ACTIVE)


@pytest.fixture
def make_subscriber(db):
    def make(email: str, status: str = Subscriber.Status.ACTIVE) -> Subscriber:
        return Subscriber.objects.create(email=email, status=status)

    return make


def enqueue_welcome(subscriber: Subscriber, key: str = "") -> Delivery:
    return services.delivery_enqueue(
        kind="welcome",
        key=key or f"{subscriber.pk}:test",
        subscriber=subscriber,
        to_email=subscriber.email,
        nudge=False,
    )


def outbox() -> list:
    return mail.outbox


@dataclass
class Received:
    rcpt_tos: list[str]
    message: object


@dataclass
class SMTPFaults:
    """Per-recipient faults: answer 451 to RCPT a number of times; drop the connection at DATA."""

    defer: dict[str, int] = field(default_factory=dict)
    reject: set[str] = field(default_factory=set)
    drop: set[str] = field(default_factory=set)
    hang_up_after_each_message: bool = False


class Handler:
    def __init__(self, faults: SMTPFaults):
        self.faults = faults
        self.received: list[Received] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.faults.reject:
            return "550 5.1.1 No such user here"
        if self.faults.defer.get(address, 0) > 0:
            self.faults.defer[address] -= 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.faults.drop:
            # The whole message arrived, and the answer never leaves: the client cannot know.
            server.transport.close()
            await asyncio.sleep(0)
            return "250 never seen"
        with self.lock:
            self.received.append(
                Received(
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message_from_bytes(envelope.original_content, policy=policy.default),
                )
            )
        if self.faults.hang_up_after_each_message:  # like a server's idle timeout, right after
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a free local port; ``.faults`` provokes errors, ``.received`` records."""
    faults = SMTPFaults()
    handler = Handler(faults)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    handler.port = port
    try:
        yield handler
    finally:
        controller.stop()
