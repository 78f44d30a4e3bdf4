"""An installation running the previous main upgrades with ``migrate`` alone and keeps every row."""

import json
import subprocess
import sys
import uuid

import pytest
from django.conf import settings

from tests.helpers import ROOT, process_env

pytestmark = pytest.mark.slow


@pytest.fixture
def separate_database(tmp_path):
    """The URL of an empty database of the suite's kind (PostgreSQL or SQLite) used only here."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
        return
    import psycopg

    name = f"dpd_upgrade_{uuid.uuid4().hex[:8]}"
    dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database_url: str, *args: str) -> str:
    env = process_env(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="tests.settings")
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_an_installation_on_the_previous_main_upgrades_with_migrate_alone(separate_database):
    made = json.loads(
        manage(
            separate_database,
            "shell",
            "-c",
            "from tests.upgrade import build_previous_main; build_previous_main()",
        )
        .strip()
        .splitlines()[-1]
    )
    manage(separate_database, "migrate", "--no-input")
    facts = json.loads(
        manage(
            separate_database,
            "shell",
            "-c",
            "from tests.upgrade import describe_upgraded; describe_upgraded()",
        )
        .strip()
        .splitlines()[-1]
    )
    kept, old_style = str(made["kept"]), str(made["old_style"])
    # The capture's title-only paper ("100times") joined the arXiv paper ("$100\times$"): its
    # listing history and upvotes moved over; the old-style id got the one rule's key.
    assert facts["papers"] == {
        kept: {
            "arxiv_id": "2402.04296",
            "upvotes": 12,
            "origins": ["Upgrade feed", "capture.txt"],
        },
        old_style: {"arxiv_id": "math.GT/0309136", "upvotes": None, "origins": ["Upgrade feed"]},
    }
    assert facts["counts"] == {
        "source": 1,
        "run": 1,
        "entry": 3,
        "heartbeat": 1,
        "subscriber": 1,
        "consent": 1,
        "suppressed": 1,
    }
    assert facts["subscriber_topics"] == 1
    assert facts["interests"] == [["keyword", "motion planning"], ["paper", "math.GT/0309136"]]
    # Admin history still opens the paper it was about.
    assert (facts["log_entry_object"], facts["log_entry_app"]) == (kept, "papers")
    # Every beat entry, the defaults and the hand-made one, names a task the workers know.
    assert "newsletter.ingest_all_sources" in facts["beat_tasks"]
    assert facts["unknown_beat_tasks"] == []


def _shell(database_url: str, code: str) -> dict:
    return json.loads(manage(database_url, "shell", "-c", code).strip().splitlines()[-1])


def test_todays_database_keeps_every_daily_run_when_the_daily_app_takes_it(separate_database):
    _shell(separate_database, "from tests.upgrade import build_todays_main; build_todays_main()")
    manage(separate_database, "migrate", "--no-input")
    facts = _shell(
        separate_database, "from tests.upgrade import describe_daily_runs; describe_daily_runs()"
    )
    assert facts["runs"] == [
        ["2026-11-18", "done", 3, "run 0"],
        ["2026-11-19", "partial", 4, "run 1"],
    ]
    assert (facts["content_type"], facts["stale_types"]) == ("daily", 0)
    assert facts["unknown_beat_tasks"] == []
