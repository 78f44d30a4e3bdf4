"""Settings for Daily Papers Digest, read from the environment.

Every variable is listed with its default and meaning in README.md and .env.example. A bad value
stops start-up with a message naming the variable (see ``newsletter.lib.env``).
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from newsletter.lib.broker import EMBEDDED_BROKER_URL, embedded_broker_options
from newsletter.lib.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_required,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key-set-SECRET_KEY-in-production")
else:
    SECRET_KEY = env_required("SECRET_KEY", "when DEBUG is off (generate one with `make secret`)")
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY must be at least 32 characters long when DEBUG is off."
        )
    # Long but repetitive ("a" * 32, "abab...") is guessable: random keys have dozens of distinct
    # characters, a 32-character hex key about 14.
    if len(set(SECRET_KEY)) < 10:
        raise ImproperlyConfigured(
            "SECRET_KEY must have at least 10 distinct characters when DEBUG is off "
            "(generate one with `make secret`)."
        )

# `make run` (newsletter/runner.py) writes the address it serves to VAR_DIR/site_url, so commands
# run beside it (run_daily, send_digests, ...) build the same links as its web, worker and beat.
SITE_URL_FILE = VAR_DIR / "site_url"
_served = SITE_URL_FILE.read_text().strip() if SITE_URL_FILE.is_file() else ""
SITE_URL = env_url("SITE_URL", _served or "http://localhost:8000", schemes=("http", "https"))
SITE_NAME = env_str("SITE_NAME", "Daily Papers Digest")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "anymail",
    "newsletter",
    "newsletter.papers",
    "newsletter.matching",
    "newsletter.delivery",
    "newsletter.digests",
    "newsletter.daily",
    "subscriptions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "newsletter.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "newsletter.urls"
WSGI_APPLICATION = "newsletter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "newsletter.context_processors.site",
            ],
        },
    },
]

# --- Database: PostgreSQL when DATABASE_URL is set, else SQLite under VAR_DIR. ---
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
            # A file, not memory, so worker processes started by tests see the test database.
            "TEST": {"NAME": VAR_DIR / "test.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: the Celery broker and the cache when REDIS_URL is set (else files under VAR_DIR). ---
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dpd",
        }
    }
else:
    # Files under VAR_DIR that every process shares (gunicorn workers, Celery), with atomic counters.
    CACHES = {
        "default": {
            "BACKEND": "newsletter.lib.filecache.SharedFileCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # Past this many files, expired entries go first, then random ones.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# --- Celery. Tasks are idempotent by key and acknowledged late, so a crashed worker's task runs again. ---
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int(
    "CELERY_TASK_TIME_LIMIT", CELERY_TASK_SOFT_TIME_LIMIT + 60, minimum=1
)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_TIME_LIMIT must be greater than CELERY_TASK_SOFT_TIME_LIMIT."
    )
BROKER_DIR = Path(env_str("BROKER_DIR", str(VAR_DIR / "broker"))).resolve()
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than the longest task, or Redis would hand an unacknowledged task to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 4}
else:
    # Embedded broker: kombu's filesystem transport, no server needed.
    CELERY_BROKER_URL = EMBEDDED_BROKER_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker_options(BROKER_DIR)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Nothing reads task results: state lives in our own tables (IngestRun, Delivery, ...).
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False

# --- Email. ---
EMAIL_PROVIDER = env_choice(
    "EMAIL_PROVIDER",
    "outbox",
    (
        "outbox",
        "console",
        "smtp",
        "postmark",
        "amazon_ses",
        "mailgun",
        "brevo",
        "resend",
        "sparkpost",
        "mailjet",
        "postal",
    ),
)
OUTBOX_DIR = Path(env_str("OUTBOX_DIR", str(VAR_DIR / "outbox"))).resolve()
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Daily Papers Digest <digest@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
REPLY_TO_EMAIL = env_str("REPLY_TO_EMAIL", "")
ANYMAIL: dict[str, str] = {}
_ANYMAIL_BACKENDS = {
    "postmark": (
        "anymail.backends.postmark.EmailBackend",
        {"POSTMARK_SERVER_TOKEN": "POSTMARK_SERVER_TOKEN"},
    ),
    "amazon_ses": ("anymail.backends.amazon_ses.EmailBackend", {}),
    # Mailgun's and Postal's webhooks are verified with a key of their own: without it Postal's
    # all fail, and Mailgun's are checked against the API key, which is not the signing key.
    "mailgun": (
        "anymail.backends.mailgun.EmailBackend",
        {
            "MAILGUN_API_KEY": "MAILGUN_API_KEY",
            "MAILGUN_WEBHOOK_SIGNING_KEY": "MAILGUN_WEBHOOK_SIGNING_KEY",
        },
    ),
    "brevo": ("anymail.backends.brevo.EmailBackend", {"BREVO_API_KEY": "BREVO_API_KEY"}),
    "resend": ("anymail.backends.resend.EmailBackend", {"RESEND_API_KEY": "RESEND_API_KEY"}),
    "sparkpost": (
        "anymail.backends.sparkpost.EmailBackend",
        {"SPARKPOST_API_KEY": "SPARKPOST_API_KEY"},
    ),
    "mailjet": (
        "anymail.backends.mailjet.EmailBackend",
        {"MAILJET_API_KEY": "MAILJET_API_KEY", "MAILJET_SECRET_KEY": "MAILJET_SECRET_KEY"},
    ),
    "postal": (
        "anymail.backends.postal.EmailBackend",
        {
            "POSTAL_API_URL": "POSTAL_API_URL",
            "POSTAL_API_KEY": "POSTAL_API_KEY",
            "POSTAL_WEBHOOK_KEY": "POSTAL_WEBHOOK_KEY",
        },
    ),
}
if EMAIL_PROVIDER == "outbox":
    EMAIL_BACKEND = "newsletter.lib.outbox.OutboxBackend"
elif EMAIL_PROVIDER == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
elif EMAIL_PROVIDER == "smtp":
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_required("EMAIL_HOST", "when EMAIL_PROVIDER is smtp")
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND, _required = _ANYMAIL_BACKENDS[EMAIL_PROVIDER]
    for _setting, _variable in _required.items():
        ANYMAIL[_setting] = env_required(_variable, f"when EMAIL_PROVIDER is {EMAIL_PROVIDER}")
    if EMAIL_PROVIDER == "mailgun":
        ANYMAIL["MAILGUN_API_URL"] = env_url(
            "MAILGUN_API_URL", "https://api.mailgun.net/v3", schemes=("https",)
        )
_webhook_secret = env_str("ANYMAIL_WEBHOOK_SECRET")
if _webhook_secret:
    ANYMAIL["WEBHOOK_SECRET"] = _webhook_secret
# Providers that sign their webhooks: anymail checks the signature when the key is set.
for _setting in ("MAILGUN_WEBHOOK_SIGNING_KEY", "POSTAL_WEBHOOK_KEY", "RESEND_SIGNING_SECRET"):
    _value = env_str(_setting)
    if _value:
        ANYMAIL[_setting] = _value

# --- Delivery: the send ledger (newsletter/delivery). ---
# Messages per second for all workers together (shared through Redis, or a file under VAR_DIR).
DELIVERY_RATE_PER_SECOND = env_int("DELIVERY_RATE_PER_SECOND", 10, minimum=0, maximum=100000)
# Deliveries per send task (sent over one connection).
DELIVERY_BATCH_SIZE = env_int("DELIVERY_BATCH_SIZE", 100, minimum=1, maximum=1000)
# Attempts before a transiently failing delivery is given up; first retry after about this long
# (doubling, with jitter).
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 6, minimum=1, maximum=20)
DELIVERY_RETRY_BASE_SECONDS = env_int("DELIVERY_RETRY_BASE_SECONDS", 60, minimum=1)
# A delivery "sending" longer than this was abandoned by its worker (the sweep resolves it).
DELIVERY_SENDING_TIMEOUT = env_int(
    "DELIVERY_SENDING_TIMEOUT", CELERY_TASK_TIME_LIMIT + 60, minimum=CELERY_TASK_TIME_LIMIT
)
# A queued delivery whose task has not run after this many seconds is enqueued again.
DELIVERY_NUDGE_AFTER = env_int("DELIVERY_NUDGE_AFTER", 120, minimum=10)
# Soft bounces in a row that suppress an address.
DELIVERY_SOFT_BOUNCE_LIMIT = env_int("DELIVERY_SOFT_BOUNCE_LIMIT", 3, minimum=1, maximum=50)
# Note delivered/opened/clicked events from webhooks on the delivery.
DELIVERY_TRACK_EVENTS = env_bool("DELIVERY_TRACK_EVENTS", True)
# An address that accepts "unsubscribe" mail, offered in List-Unsubscribe next to the https link.
EMAIL_UNSUBSCRIBE_MAILTO = env_str("EMAIL_UNSUBSCRIBE_MAILTO")
# The sender's postal address, shown in every email's footer (bulk-mail laws such as CAN-SPAM ask
# for one).
SENDER_POSTAL_ADDRESS = env_str("SENDER_POSTAL_ADDRESS")
# Ask the email provider (through anymail) to track opens of digests with its pixel; we add none.
DIGEST_OPEN_TRACKING = env_bool("DIGEST_OPEN_TRACKING", False)
# The key of the suppression list's HMAC of addresses. Without it, one is derived from SECRET_KEY
# (and changing SECRET_KEY would then forget the list): set it in production.
SUPPRESSION_HASH_KEY = env_str("SUPPRESSION_HASH_KEY")

# --- Security. ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
_https = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
# Only with SECURE_HSTS_SECONDS: every subdomain must serve https too; preload asks browsers to
# ship the rule built in (submit the domain at hstspreload.org; hard to undo).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Only this site's own files: no inline scripts or styles anywhere (newsletter/csp.py; a browser
# test visits every page and finds no violation). The favicon and the forms' script are static files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Failed staff sign-ins allowed per account (four times as many per client IP) before sign-in is
# refused for ADMIN_LOGIN_LOCKOUT_MINUTES (newsletter/admin_login.py).
ADMIN_LOGIN_MAX_FAILURES = env_int("ADMIN_LOGIN_MAX_FAILURES", 5, minimum=1, maximum=1000)
ADMIN_LOGIN_LOCKOUT_MINUTES = env_int("ADMIN_LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=1440)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOG_LEVEL = env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Signed-link tokens never reach the log (newsletter/access_log.py).
    "filters": {"redact_tokens": {"()": "newsletter.access_log.RedactTokensFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Through our handler only (Django's default one repeats lines, unfiltered, when DEBUG is on).
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "INFO"},
    },
}

# --- Ingesting daily paper listings (issue 3; newsletter.papers.ingest, newsletter.papers.http). ---
INGEST_USER_AGENT = env_str(
    "INGEST_USER_AGENT", f"DailyPapersDigest/0.1 (self-hosted newsletter; +{SITE_URL})"
)
INGEST_HTTP_TIMEOUT = env_int("INGEST_HTTP_TIMEOUT", 30, minimum=1, maximum=600)
# The whole of one fetch (its retries and reading the body) ends within this many seconds.
INGEST_FETCH_DEADLINE = env_int("INGEST_FETCH_DEADLINE", 120, minimum=1, maximum=3600)
INGEST_HTTP_RETRIES = env_int("INGEST_HTTP_RETRIES", 3, minimum=0, maximum=10)
INGEST_HTTP_BACKOFF = env_int("INGEST_HTTP_BACKOFF", 2, minimum=0, maximum=300)
INGEST_MAX_BYTES = env_int("INGEST_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Seconds between two calls of the arXiv API, for all workers together (newsletter.papers.resolve):
# arXiv's terms ask for no more than one every 3 seconds.
ARXIV_API_INTERVAL = env_int("ARXIV_API_INTERVAL", 3, minimum=3, maximum=60)
# Off: papers known by title alone are never looked up (a machine without network, say).
TITLE_LOOKUP = env_bool("TITLE_LOOKUP", True)

# --- Subscriptions (issue 4): signed-link lifetimes and abuse limits. ---
# Confirmation links (signup, email change) expire after this many days.
SUBSCRIPTIONS_CONFIRM_LINK_DAYS = env_int(
    "SUBSCRIPTIONS_CONFIRM_LINK_DAYS", 7, minimum=1, maximum=30
)
# Preference and unsubscribe links stay valid this long (at least a year: old digests keep working).
SUBSCRIPTIONS_MANAGE_LINK_DAYS = env_int("SUBSCRIPTIONS_MANAGE_LINK_DAYS", 730, minimum=365)
# A confirmation or "manage" email is sent to one address at most once per this many minutes.
SUBSCRIPTIONS_RESEND_MINUTES = env_int("SUBSCRIPTIONS_RESEND_MINUTES", 10, minimum=1)
# Form posts (signup, new link, email change) allowed per client IP and per address, per hour.
SUBSCRIPTIONS_RATE_PER_IP = env_int("SUBSCRIPTIONS_RATE_PER_IP", 20, minimum=1)
SUBSCRIPTIONS_RATE_PER_ADDRESS = env_int("SUBSCRIPTIONS_RATE_PER_ADDRESS", 5, minimum=1)
# Reverse proxies in front of the app that append to X-Forwarded-For (0: use the socket's address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
# --- End of subscriptions settings. ---

# --- Matching (issue 9). ---
# The semantic signal (the bundled all-MiniLM-L6-v2 ONNX model). Off: keywords (BM25) only.
MATCHING_SEMANTIC = env_bool("MATCHING_SEMANTIC", True)

# --- The daily run (issue 11; newsletter.daily). ---
# Hour (UTC) the run of a listing day starts: its ingest, then each subscriber's digest at their hour.
DAILY_RUN_HOUR = env_int("DAILY_RUN_HOUR", 23, minimum=0, maximum=23)
# Digests wait this long after the start for late or failing sources, then go out without them.
DAILY_INGEST_DEADLINE_MINUTES = env_int("DAILY_INGEST_DEADLINE_MINUTES", 120, minimum=1)
# A failed source is fetched again this many times before the deadline.
DAILY_INGEST_RETRIES = env_int("DAILY_INGEST_RETRIES", 2, minimum=0, maximum=20)
# Subscriber ids per digest task.
DAILY_CHUNK_SIZE = env_int("DAILY_CHUNK_SIZE", 500, minimum=1, maximum=100000)
# Work handed to workers and not done after this long is handed out again (the sweep).
DAILY_STALL_MINUTES = env_int("DAILY_STALL_MINUTES", 20, minimum=1)
