"""Shared plumbing of the JSON admin API: JSON in and out, errors in OpenAI's shape.

Every view is wrapped by `api_view(...)`, which checks the method and turns `ApiError` and
the forms' `ValidationError` into the same error body the relay sends. Authentication by
admin key is added around every route in gateway/api_urls.py.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from core.errors import ApiError, error_body

JSON = "application/json"
M = TypeVar("M", bound=Model)


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status, content_type=JSON)


def iso(value: datetime | None) -> str | None:
    """A time as the API shows it: ISO 8601 in UTC, so one instant always reads the same."""
    return value.astimezone(UTC).isoformat() if value is not None else None


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


def get_or_not_found(model: type[M], pk: int, what: str) -> M:
    """The `model` row with this id, or the API's 404 ("No {what} with this id.")."""
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise not_found(what)
    return found


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


def _method_error(method: str, allowed: Iterable[str]) -> ApiError:
    allow = ", ".join(allowed)
    return ApiError(
        405,
        f"Method {method} is not allowed here. Allowed: {allow}.",
        code="method_not_allowed",
        headers={"Allow": allow},
    )


def render_error(exc: ApiError | ValidationError) -> HttpResponse:
    if isinstance(exc, ValidationError):
        return validation_error_response(exc)
    return error_response(
        exc.status, exc.message, code=exc.code, param=exc.param, headers=exc.headers
    )


def api_view(*methods: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allowed methods, and errors as JSON, for sync and async views alike.

    Admin-key authentication wraps this from outside, in gateway/api_urls.py, so an anonymous
    caller is refused before it learns which methods a route takes.
    """
    allowed = tuple(m.upper() for m in methods)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                try:
                    if request.method not in allowed:
                        raise _method_error(request.method or "", allowed)
                    return await view(request, *args, **kwargs)
                except (ApiError, ValidationError) as exc:
                    return render_error(exc)

            return async_wrapper

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                if request.method not in allowed:
                    raise _method_error(request.method or "", allowed)
                return view(request, *args, **kwargs)
            except (ApiError, ValidationError) as exc:
                return render_error(exc)

        return wrapper

    return decorate


@api_view("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
def unknown_route(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Every other /api/ path: a JSON 404 rather than Django's HTML page."""
    raise ApiError(404, f"No API endpoint at {request.path}.", code="not_found")


def bad_parameter(param: str, message: str) -> ApiError:
    """400 naming the query parameter that is wrong."""
    return ApiError(400, message, code="invalid_parameter", param=param)


def check_query_params(request: HttpRequest, allowed: tuple[str, ...]) -> None:
    """Refuse a list endpoint's unknown or repeated query parameters, naming the first."""
    unknown = sorted(set(request.GET) - set(allowed))
    if unknown:
        raise ApiError(
            400,
            f"Unknown query parameter '{unknown[0]}'. Allowed: {', '.join(allowed)}.",
            code="unknown_parameter",
            param=unknown[0],
        )
    for param in request.GET:
        if len(request.GET.getlist(param)) > 1:
            raise bad_parameter(param, f"'{param}' is given more than once.")


def positive_int_param(
    request: HttpRequest, param: str, default: int | None, *, max_digits: int = 18
) -> int | None:
    """A query parameter that must be a whole number of at least 1 (`default` when absent)."""
    raw = request.GET.get(param, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > max_digits or int(raw) < 1:
        raise bad_parameter(param, f"'{param}' must be a positive whole number.")
    return int(raw)
