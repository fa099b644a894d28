"""A gateway started with secrets other than its database's refuses to start, and says why."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.served import prepare_site, serving

pytestmark = pytest.mark.served


def test_an_instance_with_another_secret_key_refuses_to_start(tmp_path: Path) -> None:
    prepare_site(tmp_path)  # a site of its own: the first start records its secrets
    with serving(tmp_path) as first:
        assert httpx.get(first.url + "/healthz", timeout=30).status_code == 200

    with serving(tmp_path, SECRET_KEY="made-by-another-instance-" + "z" * 40) as second:
        second.process.wait(timeout=60)
        log = second.stop()

    assert second.process.returncode != 0
    assert "refusing to start: SECRET_KEY differs" in log
    assert "z" * 40 not in log
