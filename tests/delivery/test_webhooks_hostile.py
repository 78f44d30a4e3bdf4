"""Hostile webhook posts: authenticated but malformed bodies get a 400 and one log line, never a 500.

Each post passes the provider's checks (basic auth, and Mailgun's HMAC or Postal's RSA signature
where the provider signs), so what is probed is anymail's parser and our storing of its events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import Client

from newsletter.delivery.models import TrackingEvent

pytestmark = pytest.mark.django_db

SECRET = "hooks:s3cret-for-tests"
MAILGUN_KEY = "mailgun-signing-key-for-tests"
POSTAL_PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
POSTAL_PUBLIC = base64.b64encode(
    POSTAL_PRIVATE.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "POSTAL_WEBHOOK_KEY": POSTAL_PUBLIC,
    }


def mailgun_signed(event_data) -> bytes:
    token, timestamp = "t" * 50, "1795939204"
    signature = hmac.new(MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256)
    block = {"token": token, "timestamp": timestamp, "signature": signature.hexdigest()}
    return json.dumps({"signature": block, "event-data": event_data}).encode()


def ses_notification(message: str) -> bytes:
    return json.dumps({"Type": "Notification", "MessageId": "sns-1", "Message": message}).encode()


# (provider, body): each one authenticates and then trips anymail's parser.
MALFORMED = [
    ("postmark", b"{not json"),
    ("postmark", b"\xff\xfe not utf-8"),
    ("postmark", b'"a bare string"'),
    ("postmark", b'{"RecordType": "Bounce", "BouncedAt": 12}'),
    ("postmark", json.dumps({"RecordType": "Bounce", "Metadata": ["a", "list"]}).encode()),
    ("brevo", b"[]"),
    ("brevo", b'{"items": []}'),
    ("brevo", b'{"event": "hard_bounce", "ts_epoch": "soon"}'),
    ("mailgun", mailgun_signed("not an object")),
    ("mailgun", mailgun_signed({"event": "failed", "timestamp": "noon"})),
    ("sparkpost", b'{"msys": {}}'),
    ("sparkpost", b'[{"msys": {"message_event": "a string"}}]'),
    ("mailjet", b'[{"event": "bounce", "time": "late"}]'),
    ("mailjet", b"7"),
    ("amazon_ses", ses_notification("not json")),
    ("amazon_ses", ses_notification(json.dumps({"notificationType": "Bounce"}))),
    ("resend", b'{"type": "email.bounced", "created_at": "whenever", "data": []}'),
    ("postal", b'{"event": "MessageBounced", "payload": "none", "timestamp": "x"}'),
    ("postal", b"[1, 2"),
]


def hostile_post(provider: str, body: bytes):
    auth = base64.b64encode(SECRET.encode()).decode()
    headers = {"HTTP_AUTHORIZATION": f"Basic {auth}"}
    if provider == "amazon_ses":
        headers |= {
            "HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification",
            "HTTP_X_AMZ_SNS_MESSAGE_ID": "sns-1",
        }
    if provider == "postal":
        # Postal signs with RSA-SHA1; anymail verifies it so.
        signature = POSTAL_PRIVATE.sign(body, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
        headers["HTTP_X_POSTAL_SIGNATURE"] = base64.b64encode(signature).decode()
    client = Client(raise_request_exception=False)
    return client.post(
        f"/anymail/{provider}/tracking/", data=body, content_type="application/json", **headers
    )


@pytest.mark.parametrize(("provider", "body"), MALFORMED, ids=lambda v: str(v)[:40])
def test_a_malformed_authenticated_body_gets_a_400_and_one_log_line(
    provider, body, settings, caplog
):
    settings.EMAIL_PROVIDER = provider
    with caplog.at_level(logging.INFO):
        response = hostile_post(provider, body)
    assert response.status_code == 400
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0].name == "newsletter.delivery.urls"
    assert "malformed body" in lines[0].getMessage()
    assert not TrackingEvent.objects.exists()


# Bodies anymail parses, whose events carry odd values: stored, answered 2xx.
ODD_EVENTS = [
    {"Email": 5},
    {"Metadata": {"delivery_id": {"nested": 1}}},
    {"Email": "not an address at all"},
    {"Email": "x" * 5000 + "@example.com"},
    {"Description": "\x00" * 10, "Details": "\x00"},
    {"Tag": float("nan"), "ServerID": float("inf")},
    {"MessageID": "\x00nul-in-the-id"},
]


@pytest.mark.parametrize("changes", ODD_EVENTS, ids=lambda v: repr(v)[:30])
def test_an_event_with_odd_values_is_stored_and_answered_2xx(changes, settings):
    from tests.delivery.test_webhooks import DATA

    settings.EMAIL_PROVIDER = "postmark"
    data = json.loads((DATA / "postmark" / "hard_bounce.json").read_text()) | changes
    response = hostile_post("postmark", json.dumps(data).encode())
    assert response.status_code == 200
    assert TrackingEvent.objects.count() == 1
