"""A token's `rpm_limit` and `tpm_limit`: checked by TokenForm, kept, read and written by the
API (null clears), set on the add/edit page, shown in the list, carried to the relay."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.support.factories import make_token
from tests.support.relay_tokens import relay_token
from tokens.forms import TokenForm
from tokens.models import Token
from tokens.validation import MAX_RPM_LIMIT, MAX_TPM_LIMIT

pytestmark = pytest.mark.django_db

PAGE_FORM = {"name": "Team", "group": "default", "status": "enabled", "expires_at": ""}


def form_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    form = TokenForm.from_json({"name": "Team", **data}, partial=False)
    assert not form.is_valid()
    return form.validation_error().message_dict


# --- the form -----------------------------------------------------------------------------


def test_limits_default_to_none_and_take_whole_numbers_and_their_digits() -> None:
    form = TokenForm.from_json({"name": "Team"}, partial=False)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["rpm_limit"] is None
    assert form.cleaned_data["tpm_limit"] is None
    form = TokenForm.from_json(
        {"name": "Team", "rpm_limit": 60, "tpm_limit": " 9000 "}, partial=False
    )
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["rpm_limit"], form.cleaned_data["tpm_limit"]) == (60, 9000)


@pytest.mark.parametrize("value", [0, -1, 2.5, 3.0, True, "ten", "1e3", [5], {"n": 5}])
def test_it_refuses_a_limit_that_is_not_a_positive_whole_number(value: Any) -> None:
    errors = form_errors({"rpm_limit": value, "tpm_limit": value})
    assert set(errors) == {"rpm_limit", "tpm_limit"}


def test_limits_are_capped() -> None:
    errors = form_errors({"rpm_limit": MAX_RPM_LIMIT + 1, "tpm_limit": MAX_TPM_LIMIT + 1})
    assert errors["rpm_limit"] == [f"Must be from 1 to {MAX_RPM_LIMIT}, or empty for no limit."]
    assert errors["tpm_limit"] == [f"Must be from 1 to {MAX_TPM_LIMIT}, or empty for no limit."]
    form = TokenForm.from_json(
        {"name": "Team", "rpm_limit": MAX_RPM_LIMIT, "tpm_limit": MAX_TPM_LIMIT}, partial=False
    )
    assert form.is_valid(), form.errors


# --- the API ------------------------------------------------------------------------------


def test_the_api_creates_reads_and_lists_a_tokens_limits(api: Client) -> None:
    created = api.post(
        "/api/tokens",
        data={"name": "Team", "rpm_limit": 60, "tpm_limit": 40000},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert (created.json()["rpm_limit"], created.json()["tpm_limit"]) == (60, 40000)
    token = Token.objects.get()
    assert (token.rpm_limit, token.tpm_limit) == (60, 40000)
    detail = api.get(f"/api/tokens/{token.pk}").json()
    assert (detail["rpm_limit"], detail["tpm_limit"]) == (60, 40000)
    listed = api.get("/api/tokens").json()["data"][0]
    assert (listed["rpm_limit"], listed["tpm_limit"]) == (60, 40000)


def test_a_token_created_without_limits_has_none(api: Client) -> None:
    body = api.post("/api/tokens", data={"name": "Team"}, content_type="application/json").json()
    assert body["rpm_limit"] is None and body["tpm_limit"] is None


def test_a_patch_changes_one_limit_and_null_clears_it(api: Client) -> None:
    token = make_token(rpm_limit=60, tpm_limit=40000).token
    url = f"/api/tokens/{token.pk}"
    changed = api.patch(url, data={"rpm_limit": 10}, content_type="application/json")
    assert changed.status_code == 200
    assert (changed.json()["rpm_limit"], changed.json()["tpm_limit"]) == (10, 40000)
    cleared = api.patch(url, data={"tpm_limit": None}, content_type="application/json")
    assert cleared.status_code == 200
    assert cleared.json()["tpm_limit"] is None
    token.refresh_from_db()
    assert (token.rpm_limit, token.tpm_limit) == (10, None)


def test_a_limit_change_is_in_the_audit_log(api: Client) -> None:
    token = make_token(rpm_limit=60).token
    AuditEvent.objects.all().delete()
    api.patch(
        f"/api/tokens/{token.pk}",
        data={"rpm_limit": None, "tpm_limit": 5000},
        content_type="application/json",
    )
    event = AuditEvent.objects.get()
    assert event.action == "changed"
    assert event.changes == {"rpm_limit": [60, None], "tpm_limit": [None, 5000]}


def test_the_api_refuses_a_bad_limit_and_changes_nothing(api: Client) -> None:
    token = make_token(rpm_limit=60).token
    response = api.patch(
        f"/api/tokens/{token.pk}", data={"rpm_limit": 0}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "rpm_limit" in response.content.decode()
    token.refresh_from_db()
    assert token.rpm_limit == 60


# --- the pages ----------------------------------------------------------------------------


def test_the_add_page_sets_limits(staff_client: Client) -> None:
    page = staff_client.get("/tokens/add/")
    assert b'name="rpm_limit"' in page.content and b'name="tpm_limit"' in page.content
    response = staff_client.post("/tokens/add/", {**PAGE_FORM, "rpm_limit": "30", "tpm_limit": ""})
    assert response.status_code == 302
    token = Token.objects.get()
    assert (token.rpm_limit, token.tpm_limit) == (30, None)


def test_the_edit_page_shows_changes_and_clears_limits(staff_client: Client) -> None:
    token = make_token(name="Team", rpm_limit=30, tpm_limit=5000).token
    page = staff_client.get(f"/tokens/{token.pk}/").content.decode()
    assert 'name="rpm_limit" value="30"' in page
    assert 'name="tpm_limit" value="5000"' in page
    response = staff_client.post(
        f"/tokens/{token.pk}/", {**PAGE_FORM, "rpm_limit": "", "tpm_limit": "7000"}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.rpm_limit, token.tpm_limit) == (None, 7000)


def test_the_edit_page_shows_a_bad_limit_beside_its_field(staff_client: Client) -> None:
    token = make_token(name="Team", rpm_limit=30).token
    response = staff_client.post(f"/tokens/{token.pk}/", {**PAGE_FORM, "rpm_limit": "-3"})
    assert response.status_code == 200
    assert "Must be from 1 to" in response.content.decode()
    token.refresh_from_db()
    assert token.rpm_limit == 30


def test_the_list_shows_each_tokens_limits(staff_client: Client) -> None:
    make_token(name="Limited", rpm_limit=30, tpm_limit=5000)
    make_token(name="Free")
    page = staff_client.get("/tokens/").content.decode()
    assert "30 requests/min" in page
    assert "5000 tokens/min" in page
    free_row = page[page.index("<strong>Free</strong>") :]
    free_row = free_row[: free_row.index("</tr>")]
    assert "requests/min" not in free_row and "None" in free_row


# --- the relay's record -------------------------------------------------------------------


def test_the_relay_reads_a_tokens_limits() -> None:
    limited = make_token(rpm_limit=30, tpm_limit=5000)
    free = make_token(name="Free")
    record = relay_token(limited.key)
    assert (record.rpm_limit, record.tpm_limit) == (30, 5000)
    record = relay_token(free.key)
    assert (record.rpm_limit, record.tpm_limit) == (None, None)
