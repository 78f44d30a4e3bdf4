"""A file-based cache that every process on the machine shares, with atomic counters.

The embedded default (no Redis) runs several gunicorn workers, Celery workers and beat: an
in-process cache would give each its own rate-limit counters. Django's ``FileBasedCache`` is shared
but its ``add`` and ``incr`` read, then write, so two processes can both count "5 -> 6"; and its
``incr`` rewrites the entry with the default timeout, so a counter could expire before its window
ends. Here both take one lock file, ``incr`` keeps the entry's expiry, and a full folder sheds
expired entries before live ones.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks
from django.core.files.move import file_move_safe


class SharedFileCache(FileBasedCache):
    def _cull(self) -> None:
        # Counters of past windows are never read again, so nothing would delete them: when the
        # folder is full, drop what has expired first, and only then (Django's way) random entries.
        files = self._list_cache_files()
        if len(files) < self._max_entries:
            return
        for name in files:
            try:
                with open(name, "rb") as f:
                    self._is_expired(f)  # deletes the file when it has expired
            except FileNotFoundError:
                pass
        super()._cull()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._createdir()
        # Not named *.djcache, so clear() and culling leave the lock file alone.
        with open(os.path.join(self._dir, "counters.lock"), "ab") as lock:
            locks.lock(lock, locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(lock)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None) -> bool:
        with self._locked():
            return super().add(key, value, timeout, version)

    def incr(self, key, delta=1, version=None):
        with self._locked():
            fname = self._key_to_file(key, version)
            try:
                # Our own files in a private (0700) folder, as in Django's FileBasedCache.
                with open(fname, "rb") as f:
                    expiry = pickle.load(f)  # noqa: S301
                    value = pickle.loads(zlib.decompress(f.read()))  # noqa: S301
            except (FileNotFoundError, EOFError):
                raise ValueError(f"Key '{key}' not found") from None
            if expiry is not None and expiry < time.time():
                self._delete(fname)
                raise ValueError(f"Key '{key}' not found")
            value += delta
            fd, tmp_path = tempfile.mkstemp(dir=self._dir)
            with open(fd, "wb") as f:
                f.write(pickle.dumps(expiry, self.pickle_protocol))
                f.write(zlib.compress(pickle.dumps(value, self.pickle_protocol)))
            file_move_safe(tmp_path, fname, allow_overwrite=True)
            return value
