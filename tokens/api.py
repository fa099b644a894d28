"""JSON admin API for downstream tokens: the key is returned once, by the create call.

Input is checked by tokens.forms.TokenForm, the form the pages use: every bad field at once,
unknown fields refused (what is used, which the gateway counts, as read-only), a PATCH
changing only the fields it names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from audit.services import actor_from_request
from core.api import (
    api_view,
    get_or_not_found,
    iso,
    json_response,
    no_content,
    read_json_object,
)
from core.money import format_money
from tokens.forms import TokenForm
from tokens.models import Token
from tokens.services import token_create, token_delete, token_update


def token_as_dict(token: Token, today: dt.date | None = None) -> dict[str, Any]:
    """The token as the API shows it. Money is a decimal string; `daily_used` and
    `monthly_used` are what was spent today and this month (in TOLLGATE_TIME_ZONE), 0 while
    the counters still hold an earlier day or month."""
    today = today or timezone.localdate()
    return {
        "id": token.pk,
        "name": token.name,
        "group": token.group,
        "status": token.status,
        "expires_at": iso(token.expires_at),
        "models": token.allowed_models,
        "allowed_ips": token.allowed_ips,
        "rpm_limit": token.rpm_limit,
        "tpm_limit": token.tpm_limit,
        "quota_limit": format_money(token.quota_limit),
        "quota_used": format_money(token.quota_used),
        "daily_budget": format_money(token.daily_budget),
        "daily_used": format_money(token.daily_used_on(today)),
        "monthly_budget": format_money(token.monthly_budget),
        "monthly_used": format_money(token.monthly_used_in(today.replace(day=1))),
        "prefix": token.display_prefix,
        "created_at": iso(token.created_at),
        "updated_at": iso(token.updated_at),
        "last_used_at": iso(token.last_used_at),
    }


@api_view("GET", "POST")
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        today = timezone.localdate()
        return json_response({"data": [token_as_dict(t, today) for t in Token.objects.all()]})
    form = TokenForm.from_json(read_json_object(request), partial=False)
    if not form.is_valid():
        raise form.validation_error()
    token, key = token_create(**form.cleaned_data, actor=actor_from_request(request))
    return json_response({**token_as_dict(token), "key": key}, status=201)


@api_view("GET", "PATCH", "DELETE")
def token(request: HttpRequest, token_id: int) -> HttpResponse:
    found = get_or_not_found(Token, token_id, "token")
    if request.method == "GET":
        return json_response(token_as_dict(found))
    if request.method == "DELETE":
        token_delete(token=found, actor=actor_from_request(request))
        return no_content()
    form = TokenForm.from_json(read_json_object(request), partial=True)
    if not form.is_valid():
        raise form.validation_error()
    updated = token_update(
        token=found, changes=form.cleaned_data, actor=actor_from_request(request)
    )
    return json_response(token_as_dict(updated))
