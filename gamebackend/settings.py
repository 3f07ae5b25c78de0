"""Settings for the game backend, read from the environment (and an optional `.env` file).

Every setting is documented in README.md ("Configuration"). Secrets fail loudly outside DEBUG.
"""

import hashlib
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = Path(os.environ.get("ENV_FILE", BASE_DIR / ".env"))


# --- Environment -----------------------------------------------------------------------------


def _read_env_file(path: Path) -> None:
    """Load KEY=VALUE lines from `path` into os.environ without overriding real variables."""
    if not path.is_file():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        os.environ.setdefault(key, value)


_read_env_file(ENV_FILE)


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_prepare_threshold(name: str, default: int) -> int | None:
    """A count of runs (0 or more) or `off`: None."""
    value = os.environ.get(name, "").strip().lower()
    if value in {"off", "none", "false", "no"}:
        return None
    number = env_int(name, default)
    if number < 0:
        raise ImproperlyConfigured(f"{name} must be 0 or more, or off, got {number}")
    return number


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core ------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)
TESTING = "pytest" in sys.modules or env_bool("TESTING", False)
VERSION = "1.0.0"


def _jwt_secret() -> str:
    secret = os.environ.get("JWT_SECRET", "")
    if len(secret.encode()) >= 32:
        return secret
    # SystemExit rather than an exception: the start stops with one line, not a traceback.
    if secret:
        raise SystemExit("configuration error: JWT_SECRET must be at least 32 bytes long")
    if not DEBUG:
        raise SystemExit(
            "configuration error: JWT_SECRET is not set; set it (32+ bytes) "
            "or run with DEBUG=true for development"
        )
    # Development only: generate one and keep it in the ignored .env so tokens survive restarts.
    secret = secrets.token_hex(32)
    with ENV_FILE.open("a", encoding="utf-8") as env_file:
        env_file.write(f"JWT_SECRET={secret}\n")
    os.environ["JWT_SECRET"] = secret
    return secret


JWT_SECRET = _jwt_secret()
# Django's own signing key (sessions, CSRF) is derived from JWT_SECRET unless given separately,
# so one secret configures a deployment but the two keys never sign each other's data.
SECRET_KEY = (
    env_str("DJANGO_SECRET_KEY", "")
    or hashlib.sha256(b"django-secret-key:" + JWT_SECRET.encode()).hexdigest()
)
JWT_TTL_MIN = env_int("JWT_TTL_MIN", 120)
JWT_REFRESH_TTL_DAYS = env_int("JWT_REFRESH_TTL_DAYS", 30)
JWT_ISSUER = env_str("JWT_ISSUER", "gamebackend")
JWT_AUDIENCE = env_str("JWT_AUDIENCE", "game-client")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

DATA_DIR = Path(env_str("DATA_DIR", "data"))
REPORTS_DIR = Path(env_str("REPORTS_DIR", "reports"))
if not DATA_DIR.is_absolute():
    DATA_DIR = BASE_DIR / DATA_DIR
if not REPORTS_DIR.is_absolute():
    REPORTS_DIR = BASE_DIR / REPORTS_DIR

INSTALLED_APPS = [
    # First, so its templates (the admin's home, reports and player page) override the admin's.
    "liveops",
    # django.contrib.admin with the lockout login form (and no autodiscovery in a lean process)
    "liveops.apps.LiveOpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "core",
    "accounts",
    "economy",
    "telemetry",
    "analytics",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "core.middleware.MetricsMiddleware",
    "core.middleware.LoadSheddingMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, auth and messages middleware, run only on the browser pages (/admin,
    # /docs, /redoc): the bearer-token API reads no cookie (core.middleware).
    "core.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware.BrowserAuthenticationMiddleware",
    "core.middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gamebackend.urls"
WSGI_APPLICATION = "gamebackend.wsgi.application"
ASGI_APPLICATION = "gamebackend.asgi.application"
AUTH_USER_MODEL = "accounts.User"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date format in the admin: days "2026-12-03", moments "2026-12-03 08:20" (UTC).
FORMAT_MODULE_PATH = ["gamebackend.formats"]

STATIC_URL = "static/"
# collectstatic's output; a relative path is under the project directory.
STATIC_ROOT = BASE_DIR / env_str("STATIC_ROOT", "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and not TESTING
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Database --------------------------------------------------------------------------------


def database_from_url(url: str) -> dict[str, object]:
    """Translate DATABASE_URL (sqlite:///path or postgres://user:pass@host:port/db) to Django."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme == "sqlite":
        raw_path = unquote(parts.path)
        if raw_path in {"/:memory:", ":memory:"}:
            return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        # sqlite:///data/app.db is relative to the project; sqlite:////abs/app.db is absolute.
        path = Path(raw_path[1:] if raw_path.startswith("/") else raw_path)
        if not path.is_absolute():
            path = BASE_DIR / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                # Writers serialize at BEGIN, so a read-then-write never upgrades a lock mid-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
            "TEST": {"NAME": options.get("test_name") or None},
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        # Shared by the gunicorn threads of a process (WEB_THREADS, 32), which wait for a free
        # connection: 16 per process keeps PostgreSQL's connections bounded (see gunicorn.conf.py).
        pool_max = env_int("DB_POOL_MAX", 16)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "OPTIONS": {
                "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 3),
                # core.db.prepared_cursor's statements are prepared after this many runs on a
                # connection; off (None) for a pooler that cannot keep prepared statements.
                "prepare_threshold": env_prepare_threshold("DB_PREPARE_THRESHOLD", 1),
                "pool": {
                    "min_size": env_int("DB_POOL_MIN", 1),
                    "max_size": pool_max,
                    "timeout": env_int("DB_POOL_TIMEOUT", 5),
                }
                if env_bool("DB_POOL", True)
                else False,
            },
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "sqlite:///data/app.db"))}

# Nothing shared lives in the cache (throttle counters are rows of ThrottleCounter).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


# --- Security --------------------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not TESTING)
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Bodies above 1 MiB are refused with 413 by BodySizeLimitMiddleware before any parsing.
MAX_REQUEST_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 60)
# Passwords are checked under the lockout everywhere, the admin login form included.
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutModelBackend"]


# --- API -------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "core.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.QueryAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("THROTTLE_LOGIN", "30/min"),
        "writes": env_str("THROTTLE_WRITES", "600/min"),
        "track": env_str("THROTTLE_TRACK", "120/min"),
        "admin_login": env_str("THROTTLE_ADMIN_LOGIN", "20/min"),
    },
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SECRET,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_TTL_MIN),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=JWT_REFRESH_TTL_DAYS),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_FIELD": "username",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "LEEWAY": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Game backend API",
    "DESCRIPTION": (
        "HTTP API for game clients: JWT login, a currency wallet on an append-only ledger, "
        "game events, statistics, deeplink click tracking and the analytics pipeline trigger. "
        "Errors are RFC 9457 problem details with a stable `code`."
    ),
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    # ReDoc's default fonts come from Google Fonts; /redoc loads nothing from other hosts.
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', sans-serif"},
                "code": {"fontFamily": "ui-monospace, Menlo, Consolas, monospace"},
            }
        }
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.problem_responses",
    ],
}

TRACK_REDIRECT_ALLOWED_HOSTS = env_list("TRACK_REDIRECT_ALLOWED_HOSTS", "")
TRACK_IP_SALT = env_str("TRACK_IP_SALT", "") or JWT_SECRET

ECONOMY_REQUIRE_EARN_RULE = env_bool("ECONOMY_REQUIRE_EARN_RULE", False)
IDEMPOTENCY_TTL_HOURS = env_int("IDEMPOTENCY_TTL_HOURS", 24)


# --- Operations ------------------------------------------------------------------------------

# A request that waited longer than this in gunicorn's queue is answered 503 (0 turns it off).
QUEUE_TIMEOUT_MS = env_int("QUEUE_TIMEOUT_MS", 1000)
QUEUE_SHED_RETRY_AFTER_SECONDS = env_int("QUEUE_SHED_RETRY_AFTER_SECONDS", 1)
# /metrics: with a token, only `Authorization: Bearer <METRICS_TOKEN>`. Without one, loopback
# clients only, and outside DEBUG only when METRICS_ALLOW_LOOPBACK is on: behind a reverse proxy
# on the same host every client looks like loopback.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOW_LOOPBACK = env_bool("METRICS_ALLOW_LOOPBACK", False)
# Benchmark-only views (/bench/constant, /bench/sleep); never turn this on in production.
BENCH_ENDPOINTS = env_bool("BENCH_ENDPOINTS", False)


# --- Background tasks ------------------------------------------------------------------------

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A running pipeline run without a heartbeat for this long has lost its worker: it is marked failed.
PIPELINE_HEARTBEAT_TIMEOUT_S = env_int("PIPELINE_HEARTBEAT_TIMEOUT_S", 60)


# --- Logging ---------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "core.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Our request log replaces Django's (which would log 4xx twice).
        "django.request": {"level": "ERROR", "handlers": ["stdout"], "propagate": False},
        "django.server": {"level": "WARNING"},
        "gunicorn.access": {"level": "WARNING"},
    },
}
