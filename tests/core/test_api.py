"""The error bodies every API view shares: the relay's OpenAI shape, plus `fields` on 400."""

from __future__ import annotations

import orjson
from django.core.exceptions import ValidationError

from core.api import error_response, validation_error_response
from core.errors import error_body


def test_plain_errors_are_byte_for_byte_the_relays() -> None:
    response = error_response(404, "No channel with this id.", code="not_found")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.content == error_body(404, "No channel with this id.", code="not_found")


def test_a_validation_error_names_each_field() -> None:
    exc = ValidationError({"base_url": ["Enter a URL."], "weight": ["Too small.", "Odd."]})
    response = validation_error_response(exc)
    assert response.status_code == 400
    error = orjson.loads(response.content)["error"]
    assert set(error) == {"message", "type", "param", "code", "fields"}
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "validation_error"
    assert error["param"] == "base_url"
    assert error["fields"] == {"base_url": ["Enter a URL."], "weight": ["Too small.", "Odd."]}
    assert error["message"] == "Invalid request. base_url: Enter a URL. weight: Too small. Odd."


def test_a_validation_error_without_fields_has_no_param() -> None:
    response = validation_error_response(ValidationError("Something is off."))
    error = orjson.loads(response.content)["error"]
    assert error["param"] is None
    assert error["fields"] == {"__all__": ["Something is off."]}
    assert "Something is off." in error["message"]
