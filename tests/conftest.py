from pathlib import Path

import pytest

_CHECKOUT_VAR = Path(__file__).resolve().parent.parent / "var"
_SCREENSHOTS = _CHECKOUT_VAR / "screenshots"  # asked for: the browser tests leave them for people


def _var_files() -> set[str]:
    return (
        {
            str(p)
            for p in _CHECKOUT_VAR.rglob("*")
            if p.is_file() and not p.is_relative_to(_SCREENSHOTS)
        }
        if _CHECKOUT_VAR.exists()
        else set()
    )


def pytest_sessionstart(session) -> None:
    session.config._var_before = _var_files()


def pytest_sessionfinish(session, exitstatus) -> None:
    """Fail the run when it left files in the checkout's var/ (tests use a private VAR_DIR)."""
    left = sorted(_var_files() - getattr(session.config, "_var_before", set()))
    if left:
        print(f"\nthe test suite wrote into the checkout's var/: {left[:10]}")
        session.exitstatus = 1


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
