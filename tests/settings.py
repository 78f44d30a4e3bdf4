"""Settings for the test suite: the real settings module, with a fixed secret and fast hashing."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789abcdefghijklmnop")
# Nothing the suite writes lands in the checkout's var/: Celery messages left in var/broker/
# would be run by the next `make run`. The test run (and every process it starts, through
# tests.helpers.process_env) uses a private directory, removed at the end.
if not os.environ.get("VAR_DIR"):
    _private = tempfile.mkdtemp(prefix="dpd-tests-var-")
    os.environ["VAR_DIR"] = _private
    atexit.register(shutil.rmtree, _private, ignore_errors=True)

from newsletter.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing root
DELIVERY_RATE_PER_SECOND = 0  # tests that need the limit set it
