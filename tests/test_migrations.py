import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask


@pytest.mark.django_db
def test_models_and_migrations_agree():
    """`makemigrations --check` exits non-zero (SystemExit) when a model change has no migration."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_default_beat_schedule_is_created_and_editable():
    task = PeriodicTask.objects.get(task="newsletter.heartbeat")
    assert task.enabled
    assert task.interval.every == 5
