"""The worker gunicorn builds from gateway.gunicorn_conf, as `make serve` and Docker run it."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from gunicorn.config import Config as GunicornConfig
from gunicorn.glogging import Logger
from uvicorn.lifespan.on import LifespanOn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway.bounded_http import BoundedHttpToolsProtocol
from gateway.serving import SERVER_LOGGERS, TollgateWorker
from tests.support.served import ROOT


@pytest.fixture(autouse=True)
def _restore_server_loggers() -> Iterator[None]:
    """Building a worker rewires uvicorn's loggers in this process: put them back after."""
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
    saved = [(lg.handlers[:], lg.filters[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, (handlers, filters, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers, logger.filters = handlers, filters
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture
def load_conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """gateway.gunicorn_conf as gunicorn reads it, under the given environment."""
    for name in list(os.environ):
        if name.startswith("TOLLGATE_") or name in ("FORWARDED_ALLOW_IPS", "XDG_RUNTIME_DIR"):
            monkeypatch.delenv(name)

    def load(**env: str) -> ModuleType:
        monkeypatch.setenv("TOLLGATE_DATA_DIR", str(tmp_path / "data"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(importlib.import_module("gateway.gunicorn_conf"))

    return load


def _gunicorn_config(conf: ModuleType) -> GunicornConfig:
    cfg = GunicornConfig()
    for name, value in vars(conf).items():
        if name in cfg.settings:
            cfg.set(name, value)
    return cfg


def _worker(conf: ModuleType) -> TollgateWorker:
    cfg = _gunicorn_config(conf)
    return TollgateWorker(0, os.getpid(), [], None, 0, cfg, Logger(cfg))


async def _app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("not called")


def test_by_default_no_proxy_is_trusted(load_conf: Any) -> None:
    config = _worker(load_conf()).config
    config.app = _app
    config.load()
    assert config.proxy_headers is False
    # uvicorn's only reader of X-Forwarded-For is not in the stack at all.
    assert not isinstance(config.loaded_app, ProxyHeadersMiddleware)


def test_named_proxies_are_trusted_and_no_others(load_conf: Any) -> None:
    config = _worker(load_conf(TOLLGATE_TRUSTED_PROXIES="10.1.0.0/16, 192.0.2.7")).config
    config.app = _app
    config.load()
    assert config.proxy_headers is True
    assert isinstance(config.loaded_app, ProxyHeadersMiddleware)
    trusted = config.loaded_app.trusted_hosts
    assert "10.1.2.3" in trusted and "192.0.2.7" in trusted
    assert "127.0.0.1" not in trusted


def test_the_old_forwarded_allow_ips_variable_does_not_bring_loopback_trust_back(
    load_conf: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")
    assert _worker(load_conf()).config.proxy_headers is False


def test_a_malformed_proxy_is_refused_at_start(load_conf: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"10\.0\.0\.1/8"):
        load_conf(TOLLGATE_TRUSTED_PROXIES="10.0.0.1/8")


def test_connections_are_bounded_by_default(load_conf: Any) -> None:
    conf = load_conf()
    config = _worker(conf).config
    assert config.timeout_keep_alive == 5
    assert config.limit_concurrency == 4096
    assert config.backlog == 2048
    assert issubclass(config.http, BoundedHttpToolsProtocol)  # type: ignore[arg-type]
    assert config.http.header_timeout == 10.0  # type: ignore[union-attr]
    assert config.http.body_timeout == 60.0  # type: ignore[union-attr]
    assert config.http.max_header_bytes == 65536  # type: ignore[union-attr]


def test_the_bounds_come_from_the_environment(load_conf: Any) -> None:
    conf = load_conf(
        TOLLGATE_KEEPALIVE_SECONDS="20",
        TOLLGATE_MAX_CONNECTIONS="10000",
        TOLLGATE_BACKLOG="4096",
        TOLLGATE_HEADER_TIMEOUT_SECONDS="2.5",
        TOLLGATE_BODY_TIMEOUT_SECONDS="30",
        TOLLGATE_MAX_HEADER_BYTES="16384",
    )
    config = _worker(conf).config
    assert (config.timeout_keep_alive, config.limit_concurrency, config.backlog) == (
        20,
        10000,
        4096,
    )
    assert config.http.header_timeout == 2.5  # type: ignore[union-attr]
    assert config.http.body_timeout == 30.0  # type: ignore[union-attr]
    assert config.http.max_header_bytes == 16384  # type: ignore[union-attr]


def test_the_control_socket_is_in_this_instances_data_directory(
    load_conf: Any, tmp_path: Path
) -> None:
    cfg = _gunicorn_config(load_conf())
    assert cfg.control_socket == str(tmp_path / "data" / "gunicorn.ctl")
    assert cfg.control_socket_mode == 0o600
    assert cfg.control_socket_disable is False
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700


def test_the_control_socket_can_be_turned_off(load_conf: Any) -> None:
    cfg = _gunicorn_config(load_conf(TOLLGATE_CONTROL_SOCKET="false"))
    assert cfg.control_socket_disable is True


def test_it_binds_and_runs_as_configured(load_conf: Any) -> None:
    cfg = _gunicorn_config(
        load_conf(TOLLGATE_HOST="::1", TOLLGATE_PORT="9001", TOLLGATE_WORKERS="3")
    )
    assert cfg.bind == ["[::1]:9001"]
    assert cfg.workers == 3
    assert cfg.worker_class_str == "gateway.serving.TollgateWorker"
    assert cfg.accesslog == "-"
    assert cfg.timeout == 0


_LOW_LIMIT_THEN_RAISE = """
import resource, sys
from gateway.serving import raise_open_file_limit
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
raise_open_file_limit(int(sys.argv[1]))
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
"""


def test_the_open_file_limit_is_raised_for_the_connection_cap() -> None:
    # In a child process: this one's limits are left alone.
    result = subprocess.run(
        [sys.executable, "-c", _LOW_LIMIT_THEN_RAISE, "1000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    soft, hard = (int(value) for value in result.stdout.split())
    wanted = 2 * 1000 + 256
    assert soft == (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard))


def test_workers_default_to_one_per_core(load_conf: Any) -> None:
    cfg = _gunicorn_config(load_conf())
    assert cfg.workers == len(os.sched_getaffinity(0))


async def _startup_raises(scope: Any, receive: Any, send: Any) -> None:
    assert scope["type"] == "lifespan"
    await receive()
    raise RuntimeError("the relay's warm-up broke")


def test_a_startup_that_raises_stops_the_worker(load_conf: Any) -> None:
    # uvicorn's default ("auto") would take the exception for "lifespan unsupported", log it
    # at INFO and serve on without the relay's warm-up and background work.
    config = _worker(load_conf()).config
    config.loaded_app, config.interface, config.loaded = _startup_raises, "asgi3", True
    seen = _Records()
    logging.getLogger("uvicorn.error").addHandler(seen)  # the worker stops its propagation
    lifespan = LifespanOn(config)
    asyncio.run(lifespan.startup())
    assert lifespan.should_exit
    errors = [r for r in seen.records if r.levelno >= logging.ERROR]
    assert any(r.exc_info and "warm-up broke" in str(r.exc_info[1]) for r in errors)
    assert any("startup failed" in r.getMessage() for r in errors)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
