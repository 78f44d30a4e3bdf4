"""An email backend that writes each message to its own ``.eml`` file in ``OUTBOX_DIR``.

Used by ``make run`` and local development: open the files in any mail client, or read them as text.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class OutboxBackend(BaseEmailBackend):
    def __init__(
        self, *, outbox_dir: str | Path | None = None, fail_silently: bool = False, **kwargs
    ):
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.outbox_dir = Path(outbox_dir or settings.OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            path = self.outbox_dir / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            tmp = path.with_suffix(".tmp")
            try:
                tmp.write_bytes(message.message().as_bytes(linesep="\n"))
                os.replace(tmp, path)  # readers never see a half-written message
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
