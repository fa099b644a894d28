"""Shared plumbing of the JSON admin API: bearer auth, JSON in and out, errors in OpenAI's shape.

Every view is wrapped by `admin_api(...)`, which checks the admin key, the method, and turns
`ApiError` and the services' `ValidationError` into the same error body the relay sends.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from gateway.relay.errors import error_body
from tokens.models import AdminKey
from tokens.services import admin_key_find

JSON = "application/json"


class ApiError(Exception):
    """Raised inside a view to answer with an error; `admin_api` renders it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status, content_type=JSON)


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def error_response(
    status: int,
    message: str,
    *,
    code: str,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    response = HttpResponse(
        error_body(status, message, code=code, param=param), status=status, content_type=JSON
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def validation_error_response(exc: ValidationError) -> HttpResponse:
    """400 naming every bad field: a one-line summary plus `fields` for programs."""
    if hasattr(exc, "error_dict"):
        fields = {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    else:
        fields = {"__all__": [str(m) for m in exc.messages]}
    summary = " ".join(f"{field}: {' '.join(messages)}" for field, messages in fields.items())
    # Built from error_body so the shape stays identical to the relay's, plus `fields`.
    payload = orjson.loads(
        error_body(
            400,
            f"Invalid request. {summary}",
            code="validation_error",
            param=next((field for field in fields if field != "__all__"), None),
        )
    )
    payload["error"]["fields"] = fields
    return json_response(payload, status=400)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"No {what} with this id.", code="not_found")


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    try:
        body = request.body
    except RequestDataTooBig:
        raise ApiError(413, "The request body is too large.", code="request_too_large") from None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    return data


def _bearer_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def _authenticate(request: HttpRequest, key: str) -> AdminKey | None:
    """The admin key behind `key`, also kept on the request so writes can say who made them."""
    admin_key = admin_key_find(key)
    if admin_key is not None:
        now = timezone.now()
        AdminKey.objects.filter(pk=admin_key.pk).update(last_used_at=now)
        admin_key.last_used_at = now
        request.admin_key = admin_key  # type: ignore[attr-defined]
    return admin_key


def _auth_error(key: str | None) -> ApiError:
    headers = {"WWW-Authenticate": 'Bearer realm="tollgate-admin"'}
    if key is None:
        return ApiError(
            401,
            "Missing admin API key. Send the header 'Authorization: Bearer <admin key>'.",
            code="missing_api_key",
            headers=headers,
        )
    # The presented value is never echoed: it may be some other secret pasted by mistake.
    return ApiError(
        401, "Invalid or revoked admin API key.", code="invalid_api_key", headers=headers
    )


def _method_error(method: str, allowed: Iterable[str]) -> ApiError:
    allow = ", ".join(allowed)
    return ApiError(
        405,
        f"Method {method} is not allowed here. Allowed: {allow}.",
        code="method_not_allowed",
        headers={"Allow": allow},
    )


def _render_error(exc: ApiError | ValidationError) -> HttpResponse:
    if isinstance(exc, ValidationError):
        return validation_error_response(exc)
    return error_response(
        exc.status, exc.message, code=exc.code, param=exc.param, headers=exc.headers
    )


def admin_api(*methods: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Admin-key auth, allowed methods, and errors as JSON, for sync and async views alike.

    Auth is checked before the method so an anonymous caller learns nothing about a route.
    """
    allowed = tuple(m.upper() for m in methods)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                try:
                    key = _bearer_key(request)
                    if key is None or await sync_to_async(_authenticate)(request, key) is None:
                        raise _auth_error(key)
                    if request.method not in allowed:
                        raise _method_error(request.method or "", allowed)
                    return await view(request, *args, **kwargs)
                except (ApiError, ValidationError) as exc:
                    return _render_error(exc)

            return csrf_exempt(async_wrapper)

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                key = _bearer_key(request)
                if key is None or _authenticate(request, key) is None:
                    raise _auth_error(key)
                if request.method not in allowed:
                    raise _method_error(request.method or "", allowed)
                return view(request, *args, **kwargs)
            except (ApiError, ValidationError) as exc:
                return _render_error(exc)

        return csrf_exempt(wrapper)

    return decorate


@admin_api("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
def unknown_route(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Every other /api/ path: a JSON 404 rather than Django's HTML page."""
    raise ApiError(404, f"No API endpoint at {request.path}.", code="not_found")
