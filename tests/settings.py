"""The settings the tests run with: the gateway's own, read from the environment as ever, with
what only tests want set before anything reads them (a value changed later would not reach
objects built from the first one, such as whitenoise's storage)."""

from __future__ import annotations

from gateway.settings import *  # noqa: F403 (the standard way to extend Django settings)
from gateway.settings import STORAGES

# The manifest storage needs collectstatic; tests resolve and serve static files from the
# finders instead.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Tests log in a lot; the real hasher makes each login slow on purpose.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The collector's thresholds are the process's: tests of the relay leave them alone (the
# collector's own tests drive it).
RELAY_MANAGE_GC = False
