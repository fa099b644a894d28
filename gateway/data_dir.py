"""Keep the data directory private to the server's user: it holds sessions, secrets and keys.

Used by the settings and by the gunicorn config (which runs before Django is set up), so it
imports nothing from Django.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def default_data_dir() -> Path:
    """TOLLGATE_DATA_DIR, else ./data beside manage.py."""
    base = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("TOLLGATE_DATA_DIR") or base / "data").resolve()


def secure_data_dir(path: Path) -> None:
    """Create the directory 0700, and take group and other access off it and its entries.

    Only the directory's own entries are fixed, not a tree: TOLLGATE_DATA_DIR may point at a
    directory the admin shares with other things, and a recursive chmod there would surprise.
    A file we cannot fix (owned by another user) is reported, not fatal: the 0700 directory
    already keeps others out.
    """
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        # A read-only deployment (PostgreSQL, secrets from the environment) may never need it.
        log.warning("data directory %s cannot be created: %s", path, exc)
        return
    _restrict(path, PRIVATE_DIR_MODE)
    try:
        entries = list(path.iterdir())
    except OSError as exc:
        log.warning("data directory %s cannot be listed: %s", path, exc)
        return
    for entry in entries:
        try:
            info = entry.lstat()
        except OSError:
            continue  # removed meanwhile (a WAL file at checkpoint, say)
        if stat.S_ISLNK(info.st_mode):
            continue  # a chmod would follow it out of the directory
        _restrict(entry, info.st_mode & PRIVATE_DIR_MODE, info.st_mode)


def create_private_file(path: Path) -> None:
    """Create an empty file 0600 if there is none, so whoever opens it next inherits 0600.

    SQLite treats an empty file as an empty database and gives its -wal and -shm files the
    database file's mode, so creating it first is what keeps all three private.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _restrict(path: Path, wanted: int, current: int | None = None) -> None:
    if current is None:
        try:
            current = path.stat().st_mode
        except OSError:
            return
    if stat.S_IMODE(current) == wanted:
        return
    try:
        os.chmod(path, wanted)
    except OSError as exc:
        log.warning("cannot make %s private (mode %o): %s", path, stat.S_IMODE(current), exc)
