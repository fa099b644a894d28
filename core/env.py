"""Settings read from the environment by helpers that refuse bad values loudly."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def persisted_secret(name: str, data_dir: Path, filename: str, make: Callable[[], str]) -> str:
    """The secret from the environment, else from the data dir, else made once and kept there.

    Kept on disk so that a restart does not invalidate sessions, tokens or encrypted keys.
    """
    from_env = os.environ.get(name, "").strip()
    if from_env:
        return from_env
    path = data_dir / filename
    if path.exists():
        value = path.read_text().strip()
        if not value:
            raise ImproperlyConfigured(f"{path} is empty: delete it or set {name}")
        return value
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = make()
    # O_EXCL: two workers starting at once must not each write a different secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def make_django_secret() -> str:
    return secrets.token_urlsafe(50)


def make_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
