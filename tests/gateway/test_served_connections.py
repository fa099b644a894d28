"""Connection bounds and the control socket of `make serve`, on a real gunicorn."""

from __future__ import annotations

import http.client
import socket
import stat
import time
from pathlib import Path

import httpx
import pytest

from tests.support.served import Served, serving

pytestmark = pytest.mark.served


def _wait_until_serving(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert client.get("/healthz").status_code == 200


def test_a_client_that_stalls_in_its_headers_is_cut_off(site: Path) -> None:
    with serving(site, TOLLGATE_HEADER_TIMEOUT_SECONDS="0.5") as served:
        _wait_until_serving(served)
        with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_connections_past_the_cap_get_503(site: Path) -> None:
    with serving(site, TOLLGATE_MAX_CONNECTIONS="2", TOLLGATE_KEEPALIVE_SECONDS="60") as served:
        _wait_until_serving(served)
        first = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        first.request("GET", "/healthz")
        assert first.getresponse().read() and first.sock is not None  # kept alive: one slot
        second = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        second.request("GET", "/healthz")
        response = second.getresponse()
        assert response.status == 503
        response.read()
        second.close()
        first.close()


def test_the_control_socket_is_in_the_data_directory(site: Path) -> None:
    with serving(site) as served:
        _wait_until_serving(served)
        control = site / "data" / "gunicorn.ctl"
        # gunicorn opens it just after forking its workers: poll briefly for it.
        deadline = time.monotonic() + 20
        while not control.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stat.S_ISSOCK(control.stat().st_mode)
        assert stat.S_IMODE(control.stat().st_mode) == 0o600
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(control))
    # Not the per-user default ($HOME/.gunicorn/gunicorn.ctl) that every instance would share.
    assert not (site / "home" / ".gunicorn").exists()
