"""JSON admin API for downstream tokens: the key is returned once, by the create call."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from audit.services import actor_from_request
from core.api import api_view, json_response, no_content, not_found, read_json_object
from tokens.models import Token
from tokens.services import (
    token_as_dict,
    token_create,
    token_delete,
    token_update,
)
from tokens.validation import clean_token_data


def _get_token(token_id: int) -> Token:
    token = Token.objects.filter(pk=token_id).first()
    if token is None:
        raise not_found("token")
    return token


@api_view("GET", "POST")
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return json_response({"data": [token_as_dict(t) for t in Token.objects.all()]})
    data = read_json_object(request)
    # Whole-body validation first: every bad field at once, unknown ones included.
    clean_token_data(data, partial=False)
    token, key = token_create(**data, actor=actor_from_request(request))
    return json_response({**token_as_dict(token), "key": key}, status=201)


@api_view("GET", "PATCH", "DELETE")
def token(request: HttpRequest, token_id: int) -> HttpResponse:
    found = _get_token(token_id)
    if request.method == "GET":
        return json_response(token_as_dict(found))
    if request.method == "DELETE":
        token_delete(token=found, actor=actor_from_request(request))
        return no_content()
    data = read_json_object(request)
    updated = token_update(token=found, changes=data, actor=actor_from_request(request))
    return json_response(token_as_dict(updated))
