"""The one settings module. Everything comes from environment variables (see README "Configuration").

With no ``DATABASE_URL`` and no ``REDIS_URL`` the project runs on an embedded default: SQLite under
``var/`` and a Celery broker/result store in SQLite files (kombu's SQLAlchemy transport), so the
quickstart needs no server. Production and CI set both URLs (PostgreSQL and Redis).

torch is never imported here or anywhere on the web process's import path.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from listening.env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# --- environment ------------------------------------------------------------------------------
LISTENING_ENV = env_choice("LISTENING_ENV", {"development", "test", "production"}, default="development")
PRODUCTION = LISTENING_ENV == "production"
DEBUG = env_bool("DJANGO_DEBUG", default=LISTENING_ENV == "development")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when LISTENING_ENV=production.")

if PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")  # no default: production must bring its own
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters in production.")
else:
    SECRET_KEY = env_str(
        "DJANGO_SECRET_KEY", default="dev-only-insecure-key-not-for-production-use-0123456789"
    )

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env_str("LISTENING_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# Real labelled datasets (never committed; see ../shared/data/README.md).
LISTENING_DATA_DIR = Path(env_str("LISTENING_DATA_DIR", default=str(BASE_DIR.parent / "shared" / "data")))

# --- apps -------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_structlog",
    "listening.tenancy",
    "listening.brands",
    "listening.learning",
    "listening.classifiers",
    "listening.mentions",
    "listening.replies",
    "listening.demo",
    "listening.alerts",
    "listening.analytics",
    "listening.reports",
    "listening.operations",
    # The reference dashboard at / (templates and static files only; it reads the public API).
    "api.dashboard.apps.DashboardConfig",
    # Loads the Celery app that listening.jobs sends through (workers/apps.py).
    "workers.apps.WorkersConfig",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the dashboard's static files from the same process (gunicorn or runserver).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "api.middleware.DependencyUnavailableMiddleware",
]

ROOT_URLCONF = "listening.urls"
WSGI_APPLICATION = "listening.wsgi.application"
ASGI_APPLICATION = "listening.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# --- database ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", default=60, minimum=0),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # A dashboard query that runs away must not hold a connection forever.
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            f"-c statement_timeout={env_int('DATABASE_STATEMENT_TIMEOUT_MS', default=30000, minimum=0)}"
        )
        DATABASES["default"]["OPTIONS"]["connect_timeout"] = env_int(
            "DATABASE_CONNECT_TIMEOUT", default=5, minimum=1
        )
elif PRODUCTION:
    raise ImproperlyConfigured("DATABASE_URL is required when LISTENING_ENV=production.")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "listening.sqlite3"),
            "OPTIONS": {
                # WAL lets the web process read while the worker writes; IMMEDIATE avoids
                # "database is locked" upgrades from read to write transactions.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- broker, cache ----------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", default="")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL is required when LISTENING_ENV=production.")

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # An unacknowledged task (worker killed mid-way) is redelivered after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=3600, minimum=10)
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CELERY_BROKER_URL = f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
    CELERY_RESULT_BACKEND = f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}"
    CACHES = {
        # A file cache is shared by the web process and the worker (rate limits, heartbeats).
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"

# --- auth, API --------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
API_RATE_LIMIT = env_str("API_RATE_LIMIT", default="1200/min")
API_PAGE_SIZE = env_int("API_PAGE_SIZE", default=50, minimum=1, maximum=1000)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", default=200, minimum=1, maximum=1000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasOrganizationRole"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.OrganizationRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Brand listening API",
    "DESCRIPTION": (
        "Brands, competitors, campaigns, mentions and the analytics marketing dashboards ask for. "
        "Authenticate with `Authorization: Api-Key <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several "kind" fields with different choices: name the source kinds' enum, not a hash.
    "ENUM_NAME_OVERRIDES": {"SourceKindEnum": "listening.mentions.models.SourceKind"},
    "APPEND_COMPONENTS": {
        "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "Authorization"}}
    },
    "SECURITY": [{"ApiKeyAuth": []}],
}

# --- static, i18n -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise reads the apps' static folders directly (the dashboard's few files), so no
# collectstatic step is needed before the process starts.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one on every start
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

# --- security headers (production sits behind TLS) --------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", default=31536000, minimum=0)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", {"debug", "info", "warning", "error"}, default="info").upper()
LOG_FORMAT = env_choice("LOG_FORMAT", {"json", "console"}, default="json" if PRODUCTION else "console")

from listening.logging import configure_logging  # noqa: E402  (needs the values above)

LOGGING = configure_logging(level=LOG_LEVEL, fmt=LOG_FORMAT)
DJANGO_STRUCTLOG_CELERY_ENABLED = True

# --- product settings (later sections are added by the capabilities that use them) -------------
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", default=60.0, minimum=1.0)
# A late-acked message whose worker dies while running it is delivered again; its start number
# TASK_MAX_DELIVERIES + 1 is dead-lettered instead of run, so a poison message cannot loop forever.
TASK_MAX_DELIVERIES = env_int("TASK_MAX_DELIVERIES", default=3, minimum=1, maximum=100)
# Idempotent tasks retry transient database errors (connection lost, failover) this many times,
# backing off exponentially with jitter up to TASK_RETRY_BACKOFF_MAX seconds between tries.
TASK_DB_RETRIES = env_int("TASK_DB_RETRIES", default=12, minimum=0, maximum=100)
TASK_RETRY_BACKOFF_MAX = env_int("TASK_RETRY_BACKOFF_MAX", default=120, minimum=1)

# --- ingestion --------------------------------------------------------------------------------
INGEST_MAX_ITEMS = env_int("INGEST_MAX_ITEMS", default=1000, minimum=1, maximum=10_000)
INGEST_MAX_BYTES = env_int("INGEST_MAX_BYTES", default=5 * 1024 * 1024, minimum=1024)
INGEST_MAX_TEXT_CHARS = env_int("INGEST_MAX_TEXT_CHARS", default=20_000, minimum=280)
PULL_CHECK_SECONDS = env_float("PULL_CHECK_SECONDS", default=60.0, minimum=5.0)
IDEMPOTENCY_TTL_SECONDS = env_int("IDEMPOTENCY_TTL_SECONDS", default=86_400, minimum=60)
# Django's own cap on request bodies must not undercut the ingest limit (413 is ours to answer).
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BYTES + 1024

# --- language model -----------------------------------------------------------------------------
ENRICH_RESCAN_SECONDS = env_float("ENRICH_RESCAN_SECONDS", default=60.0, minimum=5.0)
# How long an enrich worker's claim on a batch holds: a worker killed mid-batch leaves it to the
# others after this. Well above one batch's inference, so a slow batch is not read twice.
ENRICH_LEASE_SECONDS = env_float("ENRICH_LEASE_SECONDS", default=300.0, minimum=5.0)
ANALYZE_MAX_TEXTS = env_int("ANALYZE_MAX_TEXTS", default=100, minimum=1, maximum=1000)
ANALYZE_MAX_CHARS = env_int("ANALYZE_MAX_CHARS", default=5000, minimum=100)
ANALYZE_TIMEOUT_SECONDS = env_float("ANALYZE_TIMEOUT_SECONDS", default=30.0, minimum=1.0)
# Mentions per task of the history re-read after a promotion or rollback (one transaction each).
ENRICH_REREAD_BATCH = env_int("ENRICH_REREAD_BATCH", default=512, minimum=1, maximum=10_000)

# --- reply suggestions --------------------------------------------------------------------------
REPLIES_MAX_N = env_int("REPLIES_MAX_N", default=10, minimum=1, maximum=20)
REPLIES_MAX_MESSAGE_CHARS = env_int("REPLIES_MAX_MESSAGE_CHARS", default=4000, minimum=280)
REPLIES_MAX_TURNS = env_int("REPLIES_MAX_TURNS", default=20, minimum=1, maximum=200)
REPLIES_MAX_CHARS = env_int("REPLIES_MAX_CHARS", default=600, minimum=80)  # per suggestion
REPLIES_EXAMPLES = env_int("REPLIES_EXAMPLES", default=3, minimum=0, maximum=10)  # retrieved per prompt
# A past agent reply of the brand is offered first when its customer message is at least this close
# (cosine of the enrichment embeddings) to the one answered; 1.01 turns it off. On 400 recent real
# support pairs (reply_pairs.jsonl, same brand, earlier pairs only) the nearest past reply's ROUGE-L
# against the real reply rose with that cosine: 0.13 below 0.4, 0.18 / 0.24 at 0.4-0.5 / 0.5-0.6,
# 0.25-0.28 from 0.6 on (107 pairs), where the 135M decoder's drafts scored 0.12-0.20. On the demo,
# near-identical complaints are 0.64-0.73 apart, a related one 0.51, unrelated ones 0.22-0.38.
REPLIES_PAST_REPLY_MIN_SIMILARITY = env_float("REPLIES_PAST_REPLY_MIN_SIMILARITY", default=0.6, minimum=0.0)
# Generation on a CPU takes seconds per suggestion: the web process waits this long for a worker.
REPLIES_TIMEOUT_SECONDS = env_float("REPLIES_TIMEOUT_SECONDS", default=60.0, minimum=1.0)
# A worker consuming the generate queue loads the shipped decoder as it starts (in a background
# thread), so the first suggestion does not wait for the GGUF to be dequantised and loaded.
REPLIES_WARM_DECODER = env_bool("REPLIES_WARM_DECODER", default=True)
# Analysts' rankings of suggestions: at most this many per analyst per UTC day (more answer 429),
# and what one preference-tuning cycle takes, per analyst and in all (oldest first; the rest waits).
REPLIES_FEEDBACK_CAP_PER_DAY = env_int("REPLIES_FEEDBACK_CAP_PER_DAY", default=200, minimum=1)
REPLIES_FEEDBACK_CAP_PER_USER = env_int("REPLIES_FEEDBACK_CAP_PER_USER", default=200, minimum=0)
REPLIES_FEEDBACK_CAP_PER_CYCLE = env_int("REPLIES_FEEDBACK_CAP_PER_CYCLE", default=2000, minimum=0)
# The reply-model cycle (listening/replies/cycle.py). Beat queues one when this many pairs arrived
# since the organization's last reply cycle.
REPLIES_MIN_NEW_PAIRS = env_int("REPLIES_MIN_NEW_PAIRS", default=50, minimum=1)
# Held out for the gate: the organization's most recent pairs (by reply time, never a random
# split), at most a quarter of them. Small by default: the gate drafts one reply per pair per model,
# seconds each on a CPU.
REPLIES_GATE_PAIRS = env_int("REPLIES_GATE_PAIRS", default=8, minimum=1, maximum=1000)
REPLIES_GATE_CANDIDATES = env_int("REPLIES_GATE_CANDIDATES", default=100, minimum=2, maximum=1000)
REPLIES_GATE_MAX_NEW_TOKENS = env_int("REPLIES_GATE_MAX_NEW_TOKENS", default=48, minimum=4, maximum=512)
REPLIES_TRAIN_MAX_PAIRS = env_int("REPLIES_TRAIN_MAX_PAIRS", default=2000, minimum=1)  # the newest
REPLIES_TRAIN_STEPS = env_int("REPLIES_TRAIN_STEPS", default=0, minimum=0)  # 0: one epoch of SFT
REPLIES_TRAIN_BATCH = env_int("REPLIES_TRAIN_BATCH", default=4, minimum=1, maximum=64)
REPLIES_DPO_STEPS = env_int("REPLIES_DPO_STEPS", default=0, minimum=0)  # 0: one epoch over the preferences
REPLIES_LEARNING_RATE = env_float("REPLIES_LEARNING_RATE", default=2e-4, minimum=1e-7)
REPLIES_LORA = env_bool("REPLIES_LORA", default=True)  # False: full fine-tuning
REPLIES_CHECKPOINT_EVERY = env_int("REPLIES_CHECKPOINT_EVERY", default=10, minimum=1)
REPLIES_AUTO_PROMOTE = env_bool("REPLIES_AUTO_PROMOTE", default=True)

# --- alerts and webhooks ------------------------------------------------------------------------
# How often beat runs the spike check, and how much history each check reads (the baseline).
ALERT_CHECK_SECONDS = env_float("ALERT_CHECK_SECONDS", default=60.0, minimum=5.0)
ALERT_HISTORY_DAYS = env_int("ALERT_HISTORY_DAYS", default=28, minimum=3, maximum=365)
# Destinations allowed beyond the public internet (CIDRs, IPs, exact host names). Empty in
# production; the test suite allows 127.0.0.1/32 for its loopback receiver.
WEBHOOK_ALLOW_LIST = env_list("WEBHOOK_ALLOW_LIST", default=[])
WEBHOOK_REQUIRE_HTTPS = env_bool("WEBHOOK_REQUIRE_HTTPS", default=PRODUCTION)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", default=15.0, minimum=1.0)
if WEBHOOK_TIMEOUT_SECONDS > 30:
    raise ImproperlyConfigured("WEBHOOK_TIMEOUT_SECONDS must be at most 30.")
# How long the previous secret keeps signing after a rotation.
WEBHOOK_SECRET_OVERLAP_HOURS = env_float("WEBHOOK_SECRET_OVERLAP_HOURS", default=24.0, minimum=0.0)
# Beat re-scans due deliveries this often: covers retries whose message the broker lost.
WEBHOOK_RESCAN_SECONDS = env_float("WEBHOOK_RESCAN_SECONDS", default=30.0, minimum=5.0)

# --- e-mail (reports are delivered through Django's SMTP backend) -------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default="Brand listening <reports@localhost>")

# --- reports ------------------------------------------------------------------------------------
REPORTS_DIR = Path(env_str("REPORTS_DIR", default=str(VAR_DIR / "reports")))
REPORTS_SWEEP_SECONDS = env_float("REPORTS_SWEEP_SECONDS", default=60.0, minimum=5.0)
REPORTS_MAX_RECIPIENTS = env_int("REPORTS_MAX_RECIPIENTS", default=20, minimum=1, maximum=200)
# A running report whose worker has not finished within this long is handed to another worker.
REPORTS_LEASE_SECONDS = env_int("REPORTS_LEASE_SECONDS", default=900, minimum=60)
REPORTS_MAX_ATTEMPTS = env_int("REPORTS_MAX_ATTEMPTS", default=3, minimum=1, maximum=20)

# --- continual learning -------------------------------------------------------------------------
MODELS_DIR = Path(env_str("LEARNING_MODELS_DIR", default=str(VAR_DIR / "models")))
# A cycle starts when either has arrived since the active version was made: new labels, or new
# human feedback (corrections and rankings together). Raw text alone never starts one.
LEARNING_MIN_NEW_LABELS = env_int("LEARNING_MIN_NEW_LABELS", default=200, minimum=1)
LEARNING_MIN_NEW_FEEDBACK = env_int("LEARNING_MIN_NEW_FEEDBACK", default=50, minimum=1)
LEARNING_CHECK_SECONDS = env_float("LEARNING_CHECK_SECONDS", default=900.0, minimum=10.0)
LEARNING_FEEDBACK_CAP_PER_USER = env_int("LEARNING_FEEDBACK_CAP_PER_USER", default=200, minimum=0)
LEARNING_FEEDBACK_CAP_PER_CYCLE = env_int("LEARNING_FEEDBACK_CAP_PER_CYCLE", default=2000, minimum=0)
LEARNING_PSEUDO_THRESHOLD = env_float("LEARNING_PSEUDO_THRESHOLD", default=0.9, minimum=0.5)
LEARNING_PSEUDO_MAX = env_int("LEARNING_PSEUDO_MAX", default=5000, minimum=0)
LEARNING_REPLAY_SIZE = env_int("LEARNING_REPLAY_SIZE", default=3000, minimum=0)
LEARNING_RAW_MAX = env_int("LEARNING_RAW_MAX", default=20_000, minimum=0)
LEARNING_RECENT_EVERY = env_int("LEARNING_RECENT_EVERY", default=5, minimum=2)  # 1 in N held out
LEARNING_GATE_MARGIN = env_float("LEARNING_GATE_MARGIN", default=0.5, minimum=0.0)
LEARNING_GATE_CLASS_MARGIN = env_float("LEARNING_GATE_CLASS_MARGIN", default=2.0, minimum=0.0)
LEARNING_GATE_RECENT_MARGIN = env_float("LEARNING_GATE_RECENT_MARGIN", default=0.0, minimum=0.0)
LEARNING_GATE_RECENT_NOISE_Z = env_float("LEARNING_GATE_RECENT_NOISE_Z", default=1.0, minimum=0.0)
LEARNING_AUTO_PROMOTE = env_bool("LEARNING_AUTO_PROMOTE", default=True)
# Custom classifiers (listening.classifiers): beat retrains one when this many new analyst tags
# arrived since its last training; tags used per analyst per training are capped like corrections.
CLASSIFIER_MIN_NEW_TAGS = env_int("CLASSIFIER_MIN_NEW_TAGS", default=20, minimum=1)
CLASSIFIER_TAG_CAP_PER_USER = env_int("CLASSIFIER_TAG_CAP_PER_USER", default=500, minimum=1)
# After a promotion or rollback, re-read the mentions of the last N UTC days (today included); 0: all.
LEARNING_REREAD_DAYS = env_int("LEARNING_REREAD_DAYS", default=0, minimum=0)
# Rows of the shipped general check set the gate reads (0: all 1,200; tests use a few hundred).
LEARNING_HELDOUT_LIMIT = env_int("LEARNING_HELDOUT_LIMIT", default=0, minimum=0)
