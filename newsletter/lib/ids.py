"""Database ids read from outside: ASCII digits within a 64-bit primary key, or nothing."""

from __future__ import annotations

import re
from typing import Any

MAX_ID = 2**63 - 1
# ASCII digits only: ``isdigit()`` takes superscripts and other scripts' digits that ``int()`` does
# not, and ``int()`` refuses strings past 4,300 digits, so the length is checked first.
_ID_PATTERN = re.compile(r"[0-9]{1,19}")


def id_parse(value: Any) -> int | None:
    """``value`` (a string or an int, never a bool) as a positive id that fits a bigint, else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if not _ID_PATTERN.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
