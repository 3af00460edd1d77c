"""Tunebase settings, read from the environment.

With no environment at all (``make run``) the product runs on its embedded default: SQLite in
``var/``, kombu's filesystem broker, a file cache, local media, Stripe off. Production sets
``DATABASE_URL``, ``REDIS_URL`` and the rest listed in the README's table. With ``DEBUG`` off no
secret has a default. A development checkout's ``.env`` (written by ``make``) fills in what the
environment leaves unset.

Over 400 lines on purpose: it is a flat, declarative list (one setting, its environment variable and its
comment at a time, in sections matching the README's table), and Django reads one module; split across
files it would only be harder to see every value the product takes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_mapping,
    env_optional,
    env_str,
    load_env_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# A development checkout keeps DEBUG=1 and its own SECRET_KEY in a git-ignored .env that `make` writes
# once. Real environment variables always win over it; TUNEBASE_ENV_FILE names another file ("": none).
load_env_file(os.environ.get("TUNEBASE_ENV_FILE", str(BASE_DIR / ".env")))
VAR_DIR = Path(env_str("TUNEBASE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key-only-for-debug-mode-0123456789abcdef")
else:
    if not env_optional("SECRET_KEY"):
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. For local development set DEBUG=1 (make run does)."
        )
    SECRET_KEY = env_str("SECRET_KEY", required=True)
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "allauth",
    "allauth.account",
    "tenants",
    "webhooks",
    "projects",
    "training",
    "inference",
    "billing",
    "config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.TenantDatabaseContextMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "tenants.context_processors.tenancy",
                "billing.context_processors.billing",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------------
DATABASE_URL = env_optional("DATABASE_URL")
if DATABASE_URL:
    DATABASES: dict[str, Any] = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
else:
    # The web server and the worker write at once: WAL lets readers go on while one writes, and
    # IMMEDIATE transactions take the write lock up front so a busy database waits (timeout) instead
    # of failing half-way with "database is locked".
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "tunebase.sqlite3",
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Reused per thread: opening SQLite and running the PRAGMAs cost more than a small request.
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            "CONN_HEALTH_CHECKS": True,
            # A file, not memory, so that a real worker process started by the tests sees the same data.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, broker, tasks -------------------------------------------------------------------------
REDIS_URL = env_optional("REDIS_URL")
if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tunebase",
        }
    }
else:
    # A file cache is shared by the web server and the worker (local memory would not be).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_DIR = VAR_DIR / "broker"
TRAINING_HARD_TIME_LIMIT_S = env_int("TRAINING_HARD_TIME_LIMIT_S", 3 * 3600, minimum=60)
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if REDIS_URL:
    # Redis re-delivers an unacknowledged task after the visibility timeout: it must exceed the
    # longest a task may run, or a long training would be started twice.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "visibility_timeout": TRAINING_HARD_TIME_LIMIT_S + 3600,
    }
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "messages"),
        "data_folder_out": str(CELERY_BROKER_DIR / "messages"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    for _folder in (CELERY_BROKER_DIR / "messages", CELERY_BROKER_DIR / "control", VAR_DIR / "celery-results"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'celery-results'}"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Only the training itself: the dispatcher and the sweeper must never wait behind a run on the
    # training workers (one run at a time), however they are sent.
    "training.tasks.train": {"queue": "training"},
    # Webhook deliveries wait on customers' servers: their own queue, never the default or training one.
    "tenants.tasks.deliver_webhook": {"queue": "webhooks"},
    "tenants.tasks.deliver_due_webhooks": {"queue": "webhooks"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT_S", 15 * 60, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # Safety nets: both also run when a run is created or ends.
    "dispatch-training": {"task": "training.tasks.dispatch_training", "schedule": 30.0},
    "sweep-training": {"task": "training.tasks.sweep_training", "schedule": 30.0},
    # Retries of webhook deliveries whose wait is over, and any whose hand-over to the broker got lost.
    "deliver-webhooks": {
        "task": "tenants.tasks.deliver_due_webhooks",
        "schedule": 30.0,
        "options": {"queue": "webhooks"},
    },
    "purge-monitor-events": {"task": "inference.purge_monitor_events", "schedule": 3600.0},
    # Usage to Stripe (nothing to do with Stripe off), and the daily check of Stripe's totals against ours.
    "push-usage": {"task": "billing.push_usage", "schedule": 60.0},
    "reconcile-usage": {"task": "billing.reconcile_usage", "schedule": 24 * 3600.0},
}
CELERY_TIMEZONE = "UTC"

# --- storage --------------------------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
S3_BUCKET = env_optional("S3_BUCKET")
if S3_BUCKET:
    _default_storage: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_optional("S3_ENDPOINT_URL"),
            "region_name": env_optional("S3_REGION"),
            "default_acl": None,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "config.staticfiles.GzipManifestStaticFilesStorage"  # WhiteNoise's, without Brotli: see there
    },
}

# --- accounts -------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env_choice("ACCOUNT_EMAIL_VERIFICATION", "mandatory", ("mandatory", "optional", "none"))
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_SIGNUP_FORM_CLASS = "tenants.forms.SignupForm"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# Emails say "Tunebase", not the host the request came to (there is no Site table: templates/account/email/).
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Tunebase] "
# Wrong passwords lock the login (allauth's form, which /admin/login/ redirects to) for 15 minutes: after 5
# for one account, or 10 from one address. The second step's codes count the same way.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/15m/ip,5/15m/key"}
# "Sudo mode": API keys, roles, webhooks and deletions need a login or a re-entered password this recent.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# Two-factor authentication: TOTP apps with recovery codes, offered to everyone and required for operators
# (config.admin_guard). WebAuthn would need the fido2 package.
INSTALLED_APPS.append("allauth.mfa")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Tunebase"
# Operators: /admin/login/ is allauth's login, and /admin/ needs a second factor passed in this session.
MIDDLEWARE.insert(
    MIDDLEWARE.index("allauth.account.middleware.AccountMiddleware") + 1, "config.admin_guard.AdminGuardMiddleware"
)
SESSION_COOKIE_AGE = 14 * 24 * 3600

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Tunebase <no-reply@tunebase.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON nested at most 32 levels (deeper: 400 too_deep); pages of at most 200 rows (a larger ?limit= is cut).
    "DEFAULT_PARSER_CLASSES": [
        "tenants.api.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "tenants.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tenants.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tunebase API",
    "DESCRIPTION": "Fine-tune text classifiers on your labeled data and call them over HTTP. "
    "Authenticate with `Authorization: Api-Key <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request bodies get their own components, so they state what input is refused (a blank name's
    # minLength, read-only fields left out), not only what answers carry.
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" (or "method") with different choices: name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "DatasetStatusEnum": "projects.models.DatasetStatus",
        "TrainingRunStatusEnum": "training.models.RunStatus",
        "TrainingMethodEnum": "training.models.Method",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
    },
    # Every operation's error responses (400, 401, 403, 404, 429, and 402/409/413/415/503 where they apply)
    # in the one error shape, added centrally (tenants/api/schema.py) after drf-spectacular's enum hook.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tenants.api.schema.add_error_responses",
    ],
}
API_KEY_CUSTOM_HEADER = "HTTP_AUTHORIZATION"
# Writing last-used time on every request would turn each read into a write; once a minute is enough.
API_KEY_LAST_USED_RESOLUTION_S = 60

# --- security -------------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])

# --- security headers -----------------------------------------------------------------------------
# /readyz answers from its last check for this long (per process): probes write no file each time.
READYZ_CACHE_S = env_float("READYZ_CACHE_S", 5.0)
# Proxies in front of the server that append to X-Forwarded-For (a TLS terminator, a load balancer):
# the client's address is the Nth entry from the right. 0: X-Forwarded-For is ignored (anyone can send it).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# config.middleware.ClientIpMiddleware puts that address in REMOTE_ADDR, first of all: the audit log,
# allauth's per-IP rate limits (ALLAUTH_TRUSTED_PROXY_COUNT stays 0) and DRF's throttles read it there.
MIDDLEWARE.insert(0, "config.middleware.ClientIpMiddleware")
REST_FRAMEWORK["NUM_PROXIES"] = 0  # DRF's anonymous throttles: REMOTE_ADDR, never X-Forwarded-For
from csp.constants import NONCE  # noqa: E402 - with the setting it serves

INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
MIDDLEWARE.append("config.middleware.PermissionsPolicyMiddleware")
# Scripts and styles only from our own static files; an inline one only with the request's nonce (the
# API docs page). Stripe Checkout and the billing portal are reached by a redirect after a form's POST.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", "https://checkout.stripe.com", "https://billing.stripe.com"],
    },
}
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "xr-spatial-tracking",
    )
}

# --- product limits -------------------------------------------------------------------------------
TENANT_STORAGE_PREFIX = "tenants"
DATASET_MAX_UPLOAD_MB = env_int("DATASET_MAX_UPLOAD_MB", 200, minimum=1)
DATASET_MAX_ROWS = env_int("DATASET_MAX_ROWS", 2_000_000, minimum=10)
# Files up to this size are checked while the upload request waits; larger ones in a task with progress.
DATASET_INLINE_CHECK_MB = env_int("DATASET_INLINE_CHECK_MB", 5, minimum=0)
# Uploads above this are streamed to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The most a JSON body, or a form's fields (not its files), may be: room for a full predict request (256
# texts of 10,000 characters, even \u-escaped). Over it, the API answers 413 too_large.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_MAX_BODY_MB", 16, minimum=1) * 1024 * 1024

# --- webhooks -------------------------------------------------------------------------------------
# Plain http:// is for development only. Private, loopback or link-local targets are refused unless
# allowed here, in development too: a tenant's webhook must not reach the internal network (SSRF).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", DEBUG)
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
# Ports a webhook URL may name; empty: any (the default in development).
WEBHOOK_ALLOWED_PORTS = [int(port) for port in env_list("WEBHOOK_ALLOWED_PORTS", [] if DEBUG else ["443", "8443"])]
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 7, minimum=1)
# The whole of one attempt: connect, TLS, send, and read the status, headers and the start of the body.
WEBHOOK_TIMEOUT_S = env_float("WEBHOOK_TIMEOUT_S", 10.0)
# Deliveries of one organization being sent at once; more wait for a free slot.
WEBHOOK_MAX_IN_FLIGHT_PER_TENANT = env_int("WEBHOOK_MAX_IN_FLIGHT_PER_TENANT", 2, minimum=1)
# Test events an endpoint may be sent a minute.
WEBHOOK_TEST_EVENTS_PER_MINUTE = env_int("WEBHOOK_TEST_EVENTS_PER_MINUTE", 5, minimum=1)
# After a secret is rotated, deliveries are signed with the old one too for this long.
WEBHOOK_SECRET_OVERLAP_H = env_float("WEBHOOK_SECRET_OVERLAP_H", 24.0)

# --- billing --------------------------------------------------------------------------------------
# Where customers reach this server: links in emails, quota errors and Stripe's return URLs.
PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Stripe is off without a secret key: plans, quotas and usage work the same, and nothing is sent.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
# Another address for Stripe's API (a Stripe-compatible test server); empty: Stripe's own.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
STRIPE_WEBHOOK_TOLERANCE_S = env_int("STRIPE_WEBHOOK_TOLERANCE_S", 300, minimum=1)
# The Billing Meters' event names (one per meter, created in Stripe with these names).
STRIPE_METER_EVENTS = {
    "prediction": env_str("STRIPE_METER_PREDICTIONS", "tunebase_predictions"),
    "training_seconds": env_str("STRIPE_METER_TRAINING", "tunebase_training_seconds"),
}
# Each paid plan's prices, by plan code: STRIPE_PRICE_PRO (the monthly base price),
# STRIPE_PRICE_PRO_PREDICTIONS and STRIPE_PRICE_PRO_TRAINING (metered, on the meters above).
STRIPE_PRICES: dict[str, dict[str, str]] = {}
for _name, _value in sorted(os.environ.items()):
    if _name.startswith("STRIPE_PRICE_") and _value:
        _code, _, _part = _name.removeprefix("STRIPE_PRICE_").lower().partition("_")
        STRIPE_PRICES.setdefault(_code, {})[_part or "base"] = _value
# A past-due subscription keeps its plan this many days after a failed payment, then gets Free limits.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7, minimum=0)
# Training speed used for the estimate shown before a run starts (rows x epochs per second on a worker).
TRAINING_ESTIMATE_SAMPLES_PER_S = env_float("TRAINING_ESTIMATE_SAMPLES_PER_S", 80.0)
# The dashboard's try-it box: free, but at most this many predictions a minute per member (0: no limit).
TRY_BOX_RATE_PER_USER = env_int("TRY_BOX_RATE_PER_USER", 30, minimum=0)

# --- training -------------------------------------------------------------------------------------
TRAINING_WORK_DIR = Path(env_str("TRAINING_WORK_DIR", str(VAR_DIR / "training")))
TRAINING_MAX_RUNNING_PER_TENANT = env_int("TRAINING_MAX_RUNNING_PER_TENANT", 1, minimum=1)
# A running run whose worker has not written a heartbeat for this long is put back in the queue.
TRAINING_HEARTBEAT_TIMEOUT_S = env_int("TRAINING_HEARTBEAT_TIMEOUT_S", 60, minimum=10)
TRAINING_DISPATCH_TIMEOUT_S = env_int("TRAINING_DISPATCH_TIMEOUT_S", 600, minimum=30)
TRAINING_MAX_ATTEMPTS = env_int("TRAINING_MAX_ATTEMPTS", 3, minimum=1)
TRAINING_PROGRESS_INTERVAL_S = env_float("TRAINING_PROGRESS_INTERVAL_S", 2.0)

# --- models ---------------------------------------------------------------------------------------
DEFAULT_BASE_MODEL = env_str("DEFAULT_BASE_MODEL", "minilm-l6")
# Local model directories offered besides the packaged default: "name=/path,other=/path".
TUNEBASE_BASE_MODELS = env_mapping("TUNEBASE_BASE_MODELS")
DEFAULT_MAX_LENGTH = env_int("DEFAULT_MAX_LENGTH", 128, minimum=8)

# --- predictions ----------------------------------------------------------------------------------
PREDICT_MAX_TEXTS = env_int("PREDICT_MAX_TEXTS", 256, minimum=1)
PREDICT_MAX_TEXT_CHARS = env_int("PREDICT_MAX_TEXT_CHARS", 10_000, minimum=1)
# Requests per minute; 0 turns the limit off.
PREDICT_RATE_PER_KEY = env_int("PREDICT_RATE_PER_KEY", 600, minimum=0)
PREDICT_RATE_PER_TENANT = env_int("PREDICT_RATE_PER_TENANT", 1200, minimum=0)
# How long the first request of a micro-batch waits for others to join it.
PREDICT_BATCH_WINDOW_MS = env_float("PREDICT_BATCH_WINDOW_MS", 2.0)
PREDICT_TIMEOUT_S = env_float("PREDICT_TIMEOUT_S", 30.0)
# How long a web process reuses a found API key and a project's served version before asking the
# database again (tenants.lookups); changes show in other processes within this. 0: every request asks.
SERVING_LOOKUP_TTL_S = env_float("SERVING_LOOKUP_TTL_S", 2.0)
BATCH_MAX_UPLOAD_MB = env_int("BATCH_MAX_UPLOAD_MB", 200, minimum=1)
# Raw monitor events (their texts) are deleted after this many days; alerts keep their few examples.
MONITOR_EVENT_RETENTION_DAYS = env_int("MONITOR_EVENT_RETENTION_DAYS", 30, minimum=1)
# Unsure predictions kept for review per project; beyond this, new ones are not kept.
FEEDBACK_MAX_PENDING = env_int("FEEDBACK_MAX_PENDING", 10_000, minimum=0)
# Loaded model versions kept per web process, least recently used out first.
INFERENCE_CACHE_MB = env_int("INFERENCE_CACHE_MB", 2048, minimum=64)
# Each web process loads this many of the most recently deployed versions when it starts, then checks
# every INFERENCE_WARM_INTERVAL_S seconds for versions deployed since and loads them (0: never; each
# version then loads on its first request).
INFERENCE_WARM_VERSIONS = env_int("INFERENCE_WARM_VERSIONS", 50, minimum=0)
INFERENCE_WARM_INTERVAL_S = env_float("INFERENCE_WARM_INTERVAL_S", 5.0)
# "auto": bf16 for versions whose parity check passed, on a CPU with bf16 kernels or on CUDA; "fp32": never.
INFERENCE_PRECISION = env_choice("INFERENCE_PRECISION", "auto", ("auto", "fp32"))
INFERENCE_DEVICE = env_choice("INFERENCE_DEVICE", "cpu", ("cpu", "cuda", "auto"))
# Torch threads per web process for predictions; 0 = torch's default (the machine's cores).
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 0, minimum=0)
# Local copies of artifacts when the storage is remote (S3).
INFERENCE_ARTIFACT_DIR = Path(env_str("INFERENCE_ARTIFACT_DIR", str(VAR_DIR / "models")))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- logging --------------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
# "json": one JSON object a line (time, level, logger, message, request_id, tenant_id, and the request log's
# method, path, route, status, duration_ms); "text": the same in one readable line. Workers log the same way.
LOG_FORMAT = env_choice("LOG_FORMAT", "text" if DEBUG else "json", ("text", "json"))
# Celery's own lines (beat's "Sending due task" and each task's "received"/"succeeded", every 30 s or so):
# `make run` sets WARNING so that they do not scroll the server's lines (a confirmation link) away.
CELERY_LOG_LEVEL = env_choice("CELERY_LOG_LEVEL", LOG_LEVEL, ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant": {"()": "tenants.logging.TenantContextFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s tenant_id=%(tenant_id)s request_id=%(request_id)s %(message)s"
        },
        "json": {"()": "tenants.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["tenant"]},
        # A logger with no handler at all falls back to Python's last resort, which prints its warnings bare.
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own handlers go (a plain console copy of each line in DEBUG, mail to ADMINS with the
        # request's POST data): its records reach the root's handler like any other.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "INFO"},
        # runserver's access log repeats each request (a 4xx or 5xx once more, after django.request's
        # warning): tunebase.request already writes one line per request.
        "django.server": {"handlers": ["discard"], "propagate": False},
        "celery": {"level": CELERY_LOG_LEVEL},
    },
}

# --- observability --------------------------------------------------------------------------------
# Outermost: the request id (X-Request-ID in and out), the request's log line and its latency. The
# second, inside the tenant database context, tells it which tenant the request served.
MIDDLEWARE.insert(0, "config.observability.RequestObservabilityMiddleware")
MIDDLEWARE.insert(
    MIDDLEWARE.index("tenants.middleware.TenantDatabaseContextMiddleware") + 1,
    "config.observability.RequestTenantMiddleware",
)
# /metrics (Prometheus) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it answers 404.
METRICS_TOKEN = env_optional("METRICS_TOKEN")
# Several web processes (granian --workers N) share their metrics through files in this folder, which
# must exist, be empty when the server starts and be private to it; unset, each process counts alone.
PROMETHEUS_MULTIPROC_DIR = env_optional("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR!r} is not a directory.")
# Error tracking: off unless SENTRY_DSN is set. No request bodies, cookies, local variables or users.
SENTRY_DSN = env_optional("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
SENTRY_RELEASE = env_optional("SENTRY_RELEASE")
if SENTRY_DSN:
    from config.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=SENTRY_RELEASE)
