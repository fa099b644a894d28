"""The admin panel's login: staff only, throttled (gateway.login_throttle)."""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from gateway.login_throttle import LoginThrottle, client_ip


def throttled_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed logins. Try again in %(minutes)d minute.",
        "Too many failed logins. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class StaffLoginForm(AuthenticationForm):
    """Any refusal after the password check reads like a wrong password and counts as one:
    telling a non-staff user "not an administrator" would confirm their password."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()  # the fields' own "required" errors; nothing was tried
        throttle = LoginThrottle(username, client_ip(self.request))
        if seconds := throttle.begin_attempt():
            raise ValidationError(throttled_message(seconds), code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            if seconds := throttle.seconds_left():
                raise ValidationError(throttled_message(seconds), code="throttled") from None
            raise
        throttle.succeeded()
        return cleaned

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise self.get_invalid_login_error()
