"""Tollgate settings: every value comes from the environment (see .env.example)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    make_django_secret,
    make_fernet_key,
    persisted_secret,
)
from gateway.data_dir import create_private_file, default_data_dir, secure_data_dir
from gateway.log_format import (
    filters_config,
    formatters_config,
    handler_config,
    log_format_from_env,
)
from gateway.relay.failures import fatal_patterns_from_env


def _ip_networks(name: str, items: list[str]) -> tuple[str, ...]:
    """Validated IP addresses and networks (an address is its own /32 or /128 network)."""
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network ({exc})"
            ) from None
    return tuple(items)


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = default_data_dir()
# 0700, its files 0600: it holds the SQLite database (live admin sessions) and the secrets.
secure_data_dir(DATA_DIR)

SECRET_KEY = persisted_secret("SECRET_KEY", DATA_DIR, "secret_key", make_django_secret)
# Fernet keys, comma-separated: the first encrypts, all decrypt (so keys can be rotated).
ENCRYPTION_KEYS = persisted_secret(
    "TOLLGATE_ENCRYPTION_KEY", DATA_DIR, "encryption_key", make_fernet_key
).split(",")

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("TOLLGATE_ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("TOLLGATE_CSRF_TRUSTED_ORIGINS")
# The base URL printed for users ("give your users this"); derived from the request when unset.
PUBLIC_BASE_URL = env_str("TOLLGATE_PUBLIC_BASE_URL").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "core",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "gateway",
    "channels_admin",
    "tokens",
    "audit",
    "accounts",
    "usage",
]

# The /v1 relay never passes through these: gateway.asgi routes it around Django's handler.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # After OTPMiddleware: nothing past the second step of sign-in until it is done.
    "accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "gateway.urls"
ASGI_APPLICATION = "gateway.asgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

_sqlite_path = DATA_DIR / "tollgate.sqlite3"
# SQLite's settings, whether it is the default or named by DATABASE_URL=sqlite:///...
_SQLITE_OPTIONS = {
    # IMMEDIATE: writers take the lock up front instead of failing mid-transaction.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    # temp_store: the usage writer's multi-row statements keep a statement journal, which
    # past 64 KiB SQLite spills to a file in /var/tmp: about one pwrite() a request under
    # load (strace), besides the WAL's own.
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
    ),
}
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_sqlite_path),
            # A file, not :memory:, so a live server thread in the tests sees the same data;
            # one per test process, so concurrent runs do not share it.
            "TEST": {"NAME": str(DATA_DIR / f"test_tollgate_{os.getpid()}.sqlite3")},
        }
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        **_SQLITE_OPTIONS,
        **DATABASES["default"].get("OPTIONS", {}),
    }
    _sqlite_file = Path(DATABASES["default"]["NAME"])
    if str(_sqlite_file) != ":memory:" and _sqlite_file.parent.is_dir():
        # Created 0600 before SQLite opens it: its -wal and -shm files take the same mode.
        create_private_file(_sqlite_file)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
# Shared by every gateway instance when Redis is there (login throttling, for one).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tollgate",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed admin logins allowed per window (gateway.login_throttle): for one username from one
# address, from one address across usernames, and from everywhere together.
LOGIN_FAILURES_PER_ACCOUNT = env_int("TOLLGATE_LOGIN_FAILURES_PER_ACCOUNT", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("TOLLGATE_LOGIN_FAILURES_PER_ADDRESS", 20, minimum=1)
LOGIN_FAILURES_GLOBAL = env_int("TOLLGATE_LOGIN_FAILURES_GLOBAL", 100, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("TOLLGATE_LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

# --- Two-factor sign-in (accounts app, django-otp) ---------------------------------------
# Every staff account must set up an authenticator app before it can use the admin panel.
REQUIRE_2FA = env_bool("TOLLGATE_REQUIRE_2FA", False)
OTP_TOTP_ISSUER = "Tollgate"
# Wrong codes lock a device for 1, 2, 4, 8, ... seconds (django-otp's throttling, kept on).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TOLLGATE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("TOLLGATE_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("TOLLGATE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- The relay ---------------------------------------------------------------------------
# How often a process checks whether an admin changed channels or tokens (seconds).
RELAY_REFRESH_SECONDS = env_float("TOLLGATE_RELAY_REFRESH_SECONDS", 0.5)
# --- Timeouts: the defaults for channels that set none of their own (seconds) ------------
# Reasoning in the README ("Timeouts"): LLM answers are slow, so only a dead upstream should
# ever hit these. Connecting takes milliseconds: 10 s means the host is gone.
CONNECT_TIMEOUT = env_float("TOLLGATE_CONNECT_TIMEOUT", 10.0, minimum=0.001)
# Until the response headers (and a stream's first chunk). A non-streamed answer's headers
# come only once the whole answer is written, and reasoning models think for minutes first.
FIRST_BYTE_TIMEOUT = env_float("TOLLGATE_FIRST_BYTE_TIMEOUT", 600.0, minimum=0.001)
# Silence allowed between two chunks once an answer is under way.
STREAM_IDLE_TIMEOUT = env_float("TOLLGATE_STREAM_IDLE_TIMEOUT", 120.0, minimum=0.001)
# A cap on the whole request, every attempt included.
TOTAL_TIMEOUT = env_float("TOLLGATE_TOTAL_TIMEOUT", 1800.0, minimum=0.001)
# Upstream errors that mean the key or account is unusable (checked at once, and disabled if
# the channel test fails): `|`-separated lower-case substrings of the error's code, type or
# message; a leading `+` adds to the built-in list (gateway/relay/failures.py).
FATAL_ERROR_PATTERNS = fatal_patterns_from_env()
# A miss (unknown key, unknown model) re-checks for admin changes at once, at most this often.
RELAY_MISS_RECHECK_SECONDS = env_float("TOLLGATE_MISS_RECHECK_SECONDS", 0.25)
# --- Circuit breaking, cooldowns, recovery -------------------------------------------------
# This many failures (connection errors, timeouts, 5xx, garbage) within BREAKER_WINDOW seconds
# of the first one open the circuit: the channel is auto-disabled until the prober sees it pass.
# Counted in Redis when REDIS_URL is set, else in the database, so every process shares them.
BREAKER_FAILURES = env_int("TOLLGATE_BREAKER_FAILURES", 5, minimum=1)
BREAKER_WINDOW = env_float("TOLLGATE_BREAKER_WINDOW", 60.0, minimum=1.0)
# A 429 without a usable Retry-After skips the channel this long.
COOLDOWN_SECONDS = env_float("TOLLGATE_COOLDOWN_SECONDS", 30.0, minimum=1.0)
# The first probe of an auto-disabled channel comes this long after it was disabled; each
# failed probe doubles the wait, up to PROBE_MAX_INTERVAL.
PROBE_INTERVAL = env_float("TOLLGATE_PROBE_INTERVAL", 30.0, minimum=1.0)
PROBE_MAX_INTERVAL = env_float("TOLLGATE_PROBE_MAX_INTERVAL", 1800.0, minimum=1.0)
# Every enabled channel tested on a schedule, like New API's; 0 = off.
TEST_ALL_INTERVAL = env_float("TOLLGATE_TEST_ALL_INTERVAL", 0.0)
# Run the prober inside the server (one at a time across processes, by a lock); off when a
# cron runs `manage.py probe_channels` instead, or to keep channels down until tested by hand.
PROBER = env_bool("TOLLGATE_PROBER", True)
# Full garbage collections run by the relay when few streams are open (relay/collector.py),
# not by Python in the middle of thousands of them.
RELAY_MANAGE_GC = env_bool("TOLLGATE_MANAGE_GC", True)
UPSTREAM_MAX_CONNECTIONS = env_int("TOLLGATE_UPSTREAM_MAX_CONNECTIONS", 1000, minimum=1)
# Further channels tried when one fails before any byte reached the client.
RELAY_RETRIES = env_int("TOLLGATE_RELAY_RETRIES", 2, minimum=0)
# A fatal upstream error (401/403, no quota: FATAL_ERROR_PATTERNS) while relaying triggers
# the channel test; a failed test takes the channel out of rotation. Also counts failures for
# the breaker and takes a model the upstream says it lacks off that channel. Off: errors only
# fail over (429 cool-downs still apply: they disable nothing).
RELAY_AUTO_DISABLE = env_bool("TOLLGATE_AUTO_DISABLE", True)
# At most one such recheck per channel per this many seconds (per process).
RELAY_RECHECK_SECONDS = env_float("TOLLGATE_RECHECK_SECONDS", 60.0)
# The most Tollgate gateways a request may pass through; the next one answers 508.
RELAY_MAX_HOPS = env_int("TOLLGATE_MAX_HOPS", 3, minimum=1)
# Requests in flight to one channel (per process); a full channel is skipped for another.
RELAY_CHANNEL_MAX_CONNECTIONS = env_int("TOLLGATE_CHANNEL_MAX_CONNECTIONS", 250, minimum=1)
# --- Usage records (usage app) ------------------------------------------------------------
# Records are written in batches this often (seconds) while there are any, so one is visible
# at most this long after its response ended; token last-used times ride the same timer.
USAGE_FLUSH_SECONDS = env_float("TOLLGATE_USAGE_FLUSH_SECONDS", 1.0, minimum=0.01)
# Records held in memory while the database is away; past this, new ones are dropped (counted
# and logged). About 1 KB each.
USAGE_BUFFER = env_int("TOLLGATE_USAGE_BUFFER", 100_000, minimum=1)
# Ask streaming chat/completions upstreams for a usage chunk (stream_options.include_usage)
# when the client did not, and hide that chunk from it; false: such streams are estimated.
USAGE_ASK_STREAM_USAGE = env_bool("TOLLGATE_USAGE_ASK_STREAM_USAGE", True)
# Usage records older than this many days are deleted (in batches, by the server itself and
# `manage.py purge_usage`); the hourly and daily aggregates are kept. 0: keep them forever.
USAGE_RETENTION_DAYS = env_int("TOLLGATE_USAGE_RETENTION_DAYS", 90, minimum=0)
# How often (seconds) the server purges them, after once at start.
USAGE_RETENTION_INTERVAL = env_float("TOLLGATE_USAGE_RETENTION_INTERVAL", 3600.0, minimum=1.0)
# The currency prices, quotas and budgets are in (a label: amounts are never converted).
CURRENCY = env_str("TOLLGATE_CURRENCY", "USD").strip() or "USD"
# The completion a request without max_tokens / max_completion_tokens is reserved for, against
# a token's quota and budgets (settled to the real cost after the answer).
QUOTA_RESERVE_COMPLETION_TOKENS = env_int(
    "TOLLGATE_QUOTA_RESERVE_COMPLETION_TOKENS", 4096, minimum=0
)
MAX_REQUEST_BYTES = env_int("TOLLGATE_MAX_REQUEST_BYTES", 64 * 1024 * 1024, minimum=1024)
# Admin uploads (audio, images) pass through the relay, not Django's form parser.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Prometheus metrics (GET /metrics, gateway.metrics) -----------------------------------
# A scraper is let in by this bearer token, or by its address: TOLLGATE_METRICS_ALLOW's IPs
# and networks, comma-separated; by default loopback only, and no address at all once a
# token is set (a reverse proxy on the same machine would otherwise open /metrics to all).
METRICS_TOKEN = env_str("TOLLGATE_METRICS_TOKEN").strip()
METRICS_ALLOW = _ip_networks(
    "TOLLGATE_METRICS_ALLOW",
    env_list("TOLLGATE_METRICS_ALLOW", [] if METRICS_TOKEN else ["127.0.0.1", "::1"]),
)

# plain (the default, for a terminal) or json: one JSON object per line, for log shippers,
# with the request id on every line the relay writes (gateway.log_format).
LOG_FORMAT = log_format_from_env()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": formatters_config(),
    # A key sent as ?api_key=… must not reach a log line (gateway.redaction); the request id
    # goes on every record (gateway.log_format).
    "filters": filters_config(),
    "handlers": {"console": handler_config("ext://sys.stderr")},
    "root": {"handlers": ["console"], "level": env_str("TOLLGATE_LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
