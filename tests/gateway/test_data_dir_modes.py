from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.support.served import run_python

pytestmark = pytest.mark.served

# Under the usual umask, as the server would run: migrate, then hold a connection open (the
# -wal and -shm files exist only while one is) and report every mode in the data directory.
_MIGRATE_AND_REPORT = """
import json, os, sys
os.umask(0o022)
import django
django.setup()
from django.core.management import call_command
from django.db import connection
call_command("migrate", interactive=False, verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM django_session")
    data = os.environ["TOLLGATE_DATA_DIR"]
    modes = {name: os.stat(os.path.join(data, name)).st_mode for name in os.listdir(data)}
    modes["."] = os.stat(data).st_mode
    print(json.dumps(modes))
"""


def _migrate_and_report(site: Path) -> dict[str, int]:
    modes = json.loads(run_python(site, _MIGRATE_AND_REPORT).strip().splitlines()[-1])
    return {name: stat.S_IMODE(mode) for name, mode in modes.items()}


def test_a_new_data_directory_is_private_with_everything_in_it(tmp_path: Path) -> None:
    modes = _migrate_and_report(tmp_path)
    assert modes["."] == 0o700
    for name in (
        "tollgate.sqlite3",
        "tollgate.sqlite3-wal",
        "tollgate.sqlite3-shm",
        "secret_key",
        "encryption_key",
    ):
        assert modes[name] == 0o600, name
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_too_open_modes_left_by_an_older_version_are_fixed_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    for name in ("tollgate.sqlite3", "secret_key"):
        path = data / name
        path.write_bytes(b"" if name.endswith("sqlite3") else b"an-old-secret-key-value\n")
        path.chmod(0o644)
    (data / "backups").mkdir()
    (data / "backups").chmod(0o755)

    modes = _migrate_and_report(tmp_path)

    assert modes["."] == 0o700
    assert modes["tollgate.sqlite3"] == 0o600
    assert modes["tollgate.sqlite3-wal"] == 0o600
    assert modes["secret_key"] == 0o600
    assert modes["backups"] == 0o700
    assert (data / "secret_key").read_text() == "an-old-secret-key-value\n"
