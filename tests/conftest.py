import pytest


@pytest.fixture(autouse=True)
def _outbox_in_tmp(settings, tmp_path):
    """Mail written by the outbox backend goes to a per-test folder."""
    settings.OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture
def same_second_links(monkeypatch):
    """Signed links carry the second they were made. A test that builds a link again to compare it
    with one in an email gets the same second, even when the send crosses into the next one."""
    from django.core import signing

    now = signing.TimestampSigner().timestamp()  # the real second, so the links stay valid
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: now)
