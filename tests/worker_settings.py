"""Settings for worker processes the tests start: the test settings, plus tasks only tests use."""

from tests.settings import *  # noqa: F403

CELERY_IMPORTS = ["tests.worker_tasks"]
