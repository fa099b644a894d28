"""The admin panel's login: staff only, throttled per username and client IP."""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


def _now() -> float:
    return time.time()


def client_ip(request: HttpRequest | None) -> str:
    # Behind a trusted proxy uvicorn has already put the forwarded client here
    # (FORWARDED_ALLOW_IPS), and only then: X-Forwarded-For itself is never trusted.
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


class LoginThrottle:
    """Failed logins for one username from one IP, counted in the cache (Redis when configured).

    The window opens at the first failure; once LOGIN_FAILURE_LIMIT failures fall inside it, every
    attempt is refused, the right password included, until the window closes.
    """

    def __init__(self, username: str, ip: str) -> None:
        digest = hashlib.sha256(f"{username.strip().lower()}\0{ip}".encode()).hexdigest()
        self.count_key = f"login-failures:{digest}"
        self.since_key = f"login-failures-since:{digest}"

    def _window_start(self) -> float | None:
        since = cache.get(self.since_key)
        if since is not None and _now() - since >= LOGIN_FAILURE_WINDOW_SECONDS:
            self.reset()
            return None
        return since

    def seconds_left(self) -> int:
        """How long logins stay refused; 0 when they are allowed."""
        since = self._window_start()
        if since is None or (cache.get(self.count_key) or 0) < LOGIN_FAILURE_LIMIT:
            return 0
        return max(1, math.ceil(since + LOGIN_FAILURE_WINDOW_SECONDS - _now()))

    def record_failure(self) -> None:
        self._window_start()
        cache.add(self.since_key, _now(), LOGIN_FAILURE_WINDOW_SECONDS)
        cache.add(self.count_key, 0, LOGIN_FAILURE_WINDOW_SECONDS)
        # incr is atomic in Redis, so parallel guesses cannot slip past the limit.
        try:
            cache.incr(self.count_key)
        except ValueError:
            cache.set(self.count_key, 1, LOGIN_FAILURE_WINDOW_SECONDS)

    def reset(self) -> None:
        cache.delete_many([self.count_key, self.since_key])


def throttled_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed logins. Try again in %(minutes)d minute.",
        "Too many failed logins. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class StaffLoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _(
            "This account is not an administrator: it cannot sign in to the Tollgate admin panel."
        ),
    }

    def clean(self) -> dict[str, Any]:
        throttle = LoginThrottle(self.cleaned_data.get("username") or "", client_ip(self.request))
        if seconds := throttle.seconds_left():
            raise ValidationError(throttled_message(seconds), code="throttled")
        try:
            return super().clean()
        except ValidationError as exc:
            if getattr(exc, "code", None) == "invalid_login":
                throttle.record_failure()
                if seconds := throttle.seconds_left():
                    raise ValidationError(throttled_message(seconds), code="throttled") from None
            raise

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")

    def forget_failures(self) -> None:
        LoginThrottle(self.cleaned_data.get("username") or "", client_ip(self.request)).reset()
