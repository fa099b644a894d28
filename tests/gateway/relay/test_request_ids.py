"""Request ids made by the relay: unique across the workers gunicorn forks from one master."""

from __future__ import annotations

import os
import random

import pytest

from gateway.relay.app import new_request_id


def test_ids_are_time_ordered_hex() -> None:
    first, second = new_request_id(), new_request_id()

    assert len(first) == 32 and int(first, 16) >= 0
    assert first[:12] <= second[:12]
    assert first != second


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_workers_make_different_ids() -> None:
    # The master loads the app before forking (gateway/gunicorn_conf.py): every worker starts
    # from its random state. Equal states would give two workers the same ids.
    random.seed(12345)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one id, then out without running the parent's cleanup
        try:
            os.write(write_end, new_request_id()[12:].encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        child_random_part = os.read(read_end, 64).decode()
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)

    assert len(child_random_part) == 20
    assert child_random_part != new_request_id()[12:]
