import pytest


@pytest.fixture(autouse=True)
def _outbox_in_tmp(settings, tmp_path):
    """Mail written by the outbox backend goes to a per-test folder."""
    settings.OUTBOX_DIR = tmp_path / "outbox"
