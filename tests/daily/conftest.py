"""The daily run's tests share the digest tests' papers, readers and send settings."""

from tests.digests.conftest import _mail_settings, papers, reader  # noqa: F401
