"""Settings the relay reads on every request, read from Django's settings once.

Each `settings.X` costs a LazyObject lookup which, in Django 5.2, also asks the value for a
`_mask_wrapped` attribute: for a number or a bool that lookup fails, so every read makes and
drops an AttributeError (a few thousand instructions, measured with callgrind; several a
request). Values are read again after Django's `setting_changed` signal, which the tests'
settings overrides send.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_read: dict[str, Any] = {}


def setting(name: str) -> Any:
    try:
        return _read[name]
    except KeyError:
        value = _read[name] = getattr(settings, name)
        return value


@receiver(setting_changed)
def _forget(**_: object) -> None:
    _read.clear()
