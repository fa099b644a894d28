from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.served import prepare_site


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite site with static files and an admin, shared by the serving tests."""
    path = tmp_path_factory.mktemp("site")
    prepare_site(path)
    return path
