"""The relay's once-read settings follow a change (the tests' overrides, Django's signal)."""

from __future__ import annotations

from typing import Any

from django.test import override_settings

from gateway.relay.conf import setting


def test_it_reads_the_setting(settings: Any) -> None:
    settings.MAX_REQUEST_BYTES = 1000
    assert setting("MAX_REQUEST_BYTES") == 1000


def test_a_changed_setting_is_read_again(settings: Any) -> None:
    settings.FIRST_BYTE_TIMEOUT = 12.5
    assert setting("FIRST_BYTE_TIMEOUT") == 12.5
    settings.FIRST_BYTE_TIMEOUT = 3.0
    assert setting("FIRST_BYTE_TIMEOUT") == 3.0


def test_the_configured_value_is_back_when_an_override_ends() -> None:
    before = setting("TOTAL_TIMEOUT")
    with override_settings(TOTAL_TIMEOUT=before + 1):
        assert setting("TOTAL_TIMEOUT") == before + 1
    assert setting("TOTAL_TIMEOUT") == before
