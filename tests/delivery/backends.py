"""Email backends for tests: the network edge, replaced."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class RaisingBackend(BaseEmailBackend):
    """Raises ``RaisingBackend.error`` for every message (set by the test)."""

    error: BaseException = OSError("unset")
    calls = 0

    def send_messages(self, messages) -> int:
        RaisingBackend.calls += 1
        raise RaisingBackend.error


class SlowLocmemBackend(LocmemBackend):
    """Django's locmem outbox, but each send takes a little while (so two workers overlap)."""

    def send_messages(self, messages) -> int:
        import time

        time.sleep(0.01)
        return super().send_messages(messages)


class HangingBackend(BaseEmailBackend):
    """A provider that takes 3 seconds and then fails: a form must not wait for it."""

    def send_messages(self, messages) -> int:
        import time

        time.sleep(3)
        raise TimeoutError("provider timed out")
