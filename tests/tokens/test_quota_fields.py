"""A token's `quota_limit`, `daily_budget` and `monthly_budget` (money, null = unlimited) and
what it has used: checked by TokenForm, read and written by the API as decimal strings (numbers
taken too), set on the add/edit page, shown with what is used on the edit page and in the list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from core.money import UNIT
from tests.support.api import error_of
from tests.support.factories import make_token
from tokens.forms import TokenForm
from tokens.models import Token

pytestmark = pytest.mark.django_db

PAGE_FORM = {"name": "Team", "group": "default", "status": "enabled", "expires_at": ""}
MONEY = ("quota_limit", "daily_budget", "monthly_budget")
USED = ("quota_used", "daily_used", "monthly_used")


def form_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    form = TokenForm.from_json({"name": "Team", **data}, partial=False)
    assert not form.is_valid()
    return form.validation_error().message_dict


def spent(token: Token, **counters: Any) -> Token:
    """Set what the token has used, as the usage writer would have."""
    Token.objects.filter(pk=token.pk).update(**counters)
    token.refresh_from_db()
    return token


# --- the form -----------------------------------------------------------------------------


def test_limits_default_to_unlimited() -> None:
    form = TokenForm.from_json({"name": "Team"}, partial=False)
    assert form.is_valid(), form.errors
    assert [form.cleaned_data[name] for name in MONEY] == [None, None, None]


def test_limits_take_decimal_strings_and_numbers_in_units() -> None:
    form = TokenForm.from_json(
        {"name": "Team", "quota_limit": " 12.50 ", "daily_budget": 2, "monthly_budget": 0.000015},
        partial=False,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["quota_limit"] == 12 * UNIT + UNIT // 2
    assert form.cleaned_data["daily_budget"] == 2 * UNIT
    assert form.cleaned_data["monthly_budget"] == 15_000


def test_a_zero_quota_is_a_limit_not_unlimited() -> None:
    form = TokenForm.from_json({"name": "Team", "quota_limit": "0"}, partial=False)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["quota_limit"] == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "cannot be negative"),
        (-0.5, "cannot be negative"),
        ("abc", "is not an amount"),
        ("NaN", "is not an amount"),
        (True, "number or a decimal string"),
        ([5], "number or a decimal string"),
        ({"amount": 5}, "number or a decimal string"),
        ("0.0000000001", "at most 9 decimal places"),
        ("1" * 65, "at most 64 characters"),
    ],
)
def test_it_refuses_what_is_not_an_amount_beside_each_field(value: Any, message: str) -> None:
    errors = form_errors(dict.fromkeys(MONEY, value))
    assert set(errors) == set(MONEY)
    for name in MONEY:
        assert message in errors[name][0]


def test_what_is_used_is_refused_as_read_only() -> None:
    errors = form_errors(dict.fromkeys(USED, "0"))
    assert errors == {name: ["Read-only: the gateway counts what is used."] for name in USED}


# --- the API ------------------------------------------------------------------------------


def test_the_api_creates_reads_and_lists_limits_as_decimal_strings(api: Client) -> None:
    created = api.post(
        "/api/tokens",
        data={"name": "Team", "quota_limit": "25.5", "daily_budget": 3, "monthly_budget": 40.25},
        content_type="application/json",
    )
    assert created.status_code == 201
    expected = {"quota_limit": "25.5", "daily_budget": "3", "monthly_budget": "40.25"}
    assert {name: created.json()[name] for name in MONEY} == expected
    token = Token.objects.get()
    assert (token.quota_limit, token.daily_budget, token.monthly_budget) == (
        25_500_000_000,
        3 * UNIT,
        40_250_000_000,
    )
    detail = api.get(f"/api/tokens/{token.pk}").json()
    assert {name: detail[name] for name in MONEY} == expected
    listed = api.get("/api/tokens").json()["data"][0]
    assert {name: listed[name] for name in MONEY} == expected


def test_a_token_created_without_limits_is_unlimited_and_has_used_nothing(api: Client) -> None:
    body = api.post("/api/tokens", data={"name": "Team"}, content_type="application/json").json()
    assert [body[name] for name in MONEY] == [None, None, None]
    assert [body[name] for name in USED] == ["0", "0", "0"]


def test_a_patch_changes_one_limit_and_null_clears_it(api: Client) -> None:
    token = make_token(quota_limit=5 * UNIT, daily_budget=UNIT).token
    url = f"/api/tokens/{token.pk}"
    changed = api.patch(url, data={"quota_limit": "7.25"}, content_type="application/json")
    assert changed.status_code == 200
    assert (changed.json()["quota_limit"], changed.json()["daily_budget"]) == ("7.25", "1")
    cleared = api.patch(url, data={"daily_budget": None}, content_type="application/json")
    assert cleared.status_code == 200
    assert cleared.json()["daily_budget"] is None
    token.refresh_from_db()
    assert (token.quota_limit, token.daily_budget) == (7_250_000_000, None)


def test_a_limit_change_is_in_the_audit_log_as_decimal_strings(api: Client) -> None:
    token = make_token(quota_limit=5 * UNIT).token
    AuditEvent.objects.all().delete()
    api.patch(
        f"/api/tokens/{token.pk}",
        data={"quota_limit": None, "monthly_budget": "100"},
        content_type="application/json",
    )
    event = AuditEvent.objects.get()
    assert event.action == "changed"
    assert event.changes == {"quota_limit": ["5", None], "monthly_budget": [None, "100"]}


@pytest.mark.parametrize("value", [-1, "-0.01", "abc", True, "1.0000000001"])
@pytest.mark.parametrize("field", MONEY)
def test_the_api_refuses_a_bad_amount_and_changes_nothing(
    api: Client, field: str, value: Any
) -> None:
    token = make_token(**{field: UNIT}).token
    response = api.patch(
        f"/api/tokens/{token.pk}", data={field: value}, content_type="application/json"
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["param"] == field
    assert list(error["fields"]) == [field]
    token.refresh_from_db()
    assert getattr(token, field) == UNIT


def test_the_api_refuses_used_amounts_sent_back(api: Client) -> None:
    token = make_token().token
    response = api.patch(
        f"/api/tokens/{token.pk}",
        data={"name": "Renamed", "quota_used": "0"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "quota_used": ["Read-only: the gateway counts what is used."]
    }
    token.refresh_from_db()
    assert token.name == "Team A"


def test_the_api_reports_what_is_used_today_and_this_month(api: Client) -> None:
    today = timezone.localdate()
    token = spent(
        make_token(quota_limit=5 * UNIT).token,
        quota_used=1_200_000_000,
        quota_reserved=10_000_000,
        daily_used=300_000_000,
        daily_period=today,
        monthly_used=900_000_000,
        monthly_period=today.replace(day=1),
    )
    body = api.get(f"/api/tokens/{token.pk}").json()
    assert {name: body[name] for name in USED} == {
        "quota_used": "1.2",
        "daily_used": "0.3",
        "monthly_used": "0.9",
    }


def test_spend_of_an_earlier_day_or_month_reads_as_zero(api: Client) -> None:
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    token = spent(
        make_token(daily_budget=UNIT, monthly_budget=10 * UNIT).token,
        quota_used=1_200_000_000,
        daily_used=300_000_000,
        daily_period=today - timedelta(days=1),
        monthly_used=900_000_000,
        monthly_period=last_month,
    )
    body = api.get(f"/api/tokens/{token.pk}").json()
    assert (body["daily_used"], body["monthly_used"]) == ("0", "0")
    # The quota is a total: it never restarts.
    assert body["quota_used"] == "1.2"


# --- the pages ----------------------------------------------------------------------------


def test_the_add_page_shows_the_money_fields_with_the_currency(
    staff_client: Client, settings: Any
) -> None:
    settings.CURRENCY = "EUR"
    page = staff_client.get("/tokens/add/").content.decode()
    for name in MONEY:
        assert f'name="{name}"' in page
    assert "Quota (EUR)" in page
    assert "Daily budget (EUR)" in page
    assert "Monthly budget (EUR)" in page


def test_the_add_page_sets_limits(staff_client: Client) -> None:
    response = staff_client.post(
        "/tokens/add/",
        {**PAGE_FORM, "quota_limit": "5", "daily_budget": "", "monthly_budget": "0.5"},
    )
    assert response.status_code == 302
    token = Token.objects.get()
    assert (token.quota_limit, token.daily_budget, token.monthly_budget) == (
        5 * UNIT,
        None,
        UNIT // 2,
    )


def test_the_edit_page_shows_changes_and_clears_limits(staff_client: Client) -> None:
    token = make_token(name="Team", quota_limit=5_500_000_000, daily_budget=UNIT).token
    page = staff_client.get(f"/tokens/{token.pk}/").content.decode()
    assert 'name="quota_limit" value="5.5"' in page
    assert 'name="daily_budget" value="1"' in page
    assert 'name="monthly_budget" value=' not in page
    response = staff_client.post(
        f"/tokens/{token.pk}/",
        {**PAGE_FORM, "quota_limit": "", "daily_budget": "1.00", "monthly_budget": "30"},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.quota_limit, token.daily_budget, token.monthly_budget) == (None, UNIT, 30 * UNIT)


def test_saving_the_same_amount_written_differently_changes_nothing(staff_client: Client) -> None:
    token = make_token(name="Team", quota_limit=5 * UNIT).token
    AuditEvent.objects.all().delete()
    staff_client.post(f"/tokens/{token.pk}/", {**PAGE_FORM, "quota_limit": "5.000"})
    assert not AuditEvent.objects.exists()


def test_the_edit_page_shows_a_bad_amount_beside_its_field(staff_client: Client) -> None:
    token = make_token(name="Team", quota_limit=5 * UNIT).token
    response = staff_client.post(f"/tokens/{token.pk}/", {**PAGE_FORM, "quota_limit": "-3"})
    assert response.status_code == 200
    page = response.content.decode()
    errors = page[page.index('id="id_quota_limit_errors"') :]
    assert "An amount cannot be negative." in errors[: errors.index("</ul>")]
    token.refresh_from_db()
    assert token.quota_limit == 5 * UNIT


def test_the_edit_page_shows_what_is_used(staff_client: Client) -> None:
    today = timezone.localdate()
    token = spent(
        make_token(name="Team", quota_limit=5 * UNIT, monthly_budget=20 * UNIT).token,
        quota_used=1_200_000_000,
        quota_reserved=15_000_000,
        daily_used=300_000_000,
        daily_period=today,
        monthly_used=900_000_000,
        monthly_period=today.replace(day=1),
    )
    page = staff_client.get(f"/tokens/{token.pk}/").content.decode()
    shown = page[page.index('id="token-spending"') : page.index("</dl>")]
    assert "<dt>Quota used</dt><dd>USD 1.20 / 5.00</dd>" in shown
    assert "<dt>Reserved in flight</dt><dd>USD 0.015</dd>" in shown
    assert "<dt>Spent today</dt><dd>USD 0.30 / unlimited</dd>" in shown
    assert "<dt>Spent this month</dt><dd>USD 0.90 / 20.00</dd>" in shown


def test_the_add_page_has_nothing_used_to_show(staff_client: Client) -> None:
    page = staff_client.get("/tokens/add/").content.decode()
    assert 'id="token-spending"' not in page


def row_of(page: str, name: str) -> str:
    row = page[page.index(f"<strong>{name}</strong>") :]
    return row[: row.index("</tr>")]


def test_the_list_shows_used_over_limit_and_todays_spend(staff_client: Client) -> None:
    today = timezone.localdate()
    spent(
        make_token(name="Limited", quota_limit=5 * UNIT, daily_budget=UNIT).token,
        quota_used=1_200_000_000,
        daily_used=300_000_000,
        daily_period=today,
    )
    spent(
        make_token(name="Yesterday", daily_budget=UNIT).token,
        daily_used=700_000_000,
        daily_period=today - timedelta(days=1),
    )
    make_token(name="Free")
    page = staff_client.get("/tokens/").content.decode()
    limited = row_of(page, "Limited")
    assert "Quota USD 1.20 / 5.00" in limited
    assert "Today USD 0.30 / 1.00" in limited
    assert "Today USD 0.00 / 1.00" in row_of(page, "Yesterday")
    free = row_of(page, "Free")
    assert "Quota USD 0.00 / unlimited" in free
    assert "Today USD 0.00 / unlimited" in free
    assert "This month" not in free


def test_the_list_shows_a_monthly_budget_when_there_is_one(staff_client: Client) -> None:
    today = timezone.localdate()
    spent(
        make_token(name="Monthly", monthly_budget=50 * UNIT).token,
        monthly_used=12_345_000_000,
        monthly_period=today.replace(day=1),
    )
    assert "This month USD 12.345 / 50.00" in row_of(
        staff_client.get("/tokens/").content.decode(), "Monthly"
    )


def test_the_pages_speak_chinese(staff_client: Client) -> None:
    zh = {"Accept-Language": "zh-hans"}
    token = make_token(name="Team", quota_limit=5 * UNIT).token
    listing = staff_client.get("/tokens/", headers=zh).content.decode()
    assert "额度 USD 0.00 / 5.00" in listing
    assert "今天 USD 0.00 / 无限制" in listing
    assert "无限制" in listing
    edit = staff_client.get(f"/tokens/{token.pk}/", headers=zh).content.decode()
    for label in ("额度（USD）", "每日预算（USD）", "每月预算（USD）", "已用额度"):  # noqa: RUF001
        assert label in edit
