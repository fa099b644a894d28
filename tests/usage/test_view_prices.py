"""/prices/: the Prices page (list, add or change, delete) and its group multipliers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from core.models import RelayState
from tests.support.audit import only_event
from tests.support.factories import make_channel, make_token
from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect
from usage.models import GroupMultiplier, ModelPrice

pytestmark = pytest.mark.django_db

URL = "/prices/"
DELETE_URL = "/prices/delete/"
GROUP_URL = "/prices/groups/"
VALID = {
    "model": "org/model-x",
    "input_per_million": "2.5",
    "output_per_million": "10",
    "per_request": "",
}


def relay_version() -> int:
    return RelayState.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def make_price(model: str = "org/model-x", **amounts: int) -> ModelPrice:
    return ModelPrice.objects.create(model=model, **amounts)


def save(client: Client, **changes: Any) -> Any:
    return client.post(URL, {**VALID, **changes})


# --- who may ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [URL, DELETE_URL, GROUP_URL])
@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_visitors_to_login_whatever_the_method(
    db: None, method: str, path: str
) -> None:
    assert_login_redirect(getattr(Client(), method)(path), path)


def test_it_refuses_non_staff(plain_client: Client) -> None:
    price = make_price()
    assert_forbidden(plain_client.get(URL))
    assert_forbidden(save(plain_client, model="other"))
    assert_forbidden(plain_client.post(DELETE_URL, {"model": price.model}))
    assert_forbidden(plain_client.post(GROUP_URL, {"name": "vip", "price_multiplier": "2"}))
    assert list(ModelPrice.objects.values_list("model", flat=True)) == ["org/model-x"]
    assert not GroupMultiplier.objects.exists()


def test_it_needs_the_csrf_token(csrf_client: Client) -> None:
    price = make_price()
    assert save(csrf_client, model="other").status_code == 403
    assert csrf_client.post(DELETE_URL, {"model": price.model}).status_code == 403
    assert csrf_client.post(GROUP_URL, {"name": "vip", "price_multiplier": "2"}).status_code == 403
    assert ModelPrice.objects.count() == 1


def test_it_allows_only_the_methods_it_uses(staff_client: Client) -> None:
    assert staff_client.put(URL).status_code == 405
    assert staff_client.put(DELETE_URL).status_code == 405
    assert staff_client.get(GROUP_URL).status_code == 405


# --- the page --------------------------------------------------------------------------


def test_it_lists_prices_with_the_currency(staff_client: Client, settings: Any) -> None:
    settings.CURRENCY = "EUR"
    make_price("org/model-x", input_per_million=2_500_000_000, per_request=1_500_000)
    body = staff_client.get(URL).content.decode()
    assert '<td data-label="Model" class="mono">org/model-x</td>' in body
    assert "EUR 2.50" in body
    assert "EUR 0.0015" in body
    assert "Amounts are in EUR." in body
    assert 'href="/prices/?model=org%2Fmodel-x#price-form"' in body
    assert 'hx-post="/prices/delete/?model=org%2Fmodel-x"' in body


def test_the_nav_links_to_the_page_and_marks_it_current(staff_client: Client) -> None:
    assert '<a href="/prices/">Prices</a>' in staff_client.get("/").content.decode()
    body = staff_client.get(URL).content.decode()
    assert '<a href="/prices/" aria-current="page">Prices</a>' in body


def test_it_says_when_there_is_no_price(staff_client: Client) -> None:
    body = staff_client.get(URL).content.decode()
    assert "No prices yet." in body
    assert "<h2>Add a price</h2>" in body


def test_model_fills_in_the_form_for_a_new_price(staff_client: Client) -> None:
    body = staff_client.get(URL, {"model": "org/new"}).content.decode()
    assert 'name="model" value="org/new"' in body
    assert "<h2>Add a price</h2>" in body


def test_model_fills_in_the_form_with_an_existing_price(staff_client: Client) -> None:
    make_price("org/model-x", output_per_million=12_000_000_000)
    body = staff_client.get(URL, {"model": "org/model-x"}).content.decode()
    assert "<h2>Change a price</h2>" in body
    assert 'name="model" value="org/model-x"' in body
    assert 'name="output_per_million" value="12"' in body


def test_the_form_suggests_models_without_a_price(staff_client: Client) -> None:
    make_channel(models=["gpt-4o", "org/model-x"])
    make_price("gpt-4o")
    body = staff_client.get(URL).content.decode()
    assert '<option value="org/model-x">' in body
    assert '<option value="gpt-4o">' not in body


def test_htmx_gets_only_the_price_table(staff_client: Client) -> None:
    make_price()
    response = staff_client.get(URL, headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="price-table"')
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


# --- saving ----------------------------------------------------------------------------


def test_a_save_creates_the_price_and_redirects_with_a_message(staff_client: Client) -> None:
    start = relay_version()
    response = save(staff_client)
    assert response.status_code == 302
    assert response["Location"] == URL
    price = ModelPrice.objects.get()
    assert (price.model, price.input_per_million, price.output_per_million, price.per_request) == (
        "org/model-x",
        2_500_000_000,
        10_000_000_000,
        0,
    )
    assert relay_version() > start
    event = only_event()
    assert (event.actor_kind, event.actor, event.action, event.object_type) == (
        "user",
        "alice",
        "created",
        "price",
    )
    assert "Price of “org/model-x” saved." in staff_client.get(URL).content.decode()


def test_a_save_changes_an_existing_price(staff_client: Client) -> None:
    make_price("org/model-x", input_per_million=1)
    save(staff_client, input_per_million="3")
    assert ModelPrice.objects.get().input_per_million == 3_000_000_000


def test_bad_input_shows_the_form_again_with_errors(staff_client: Client) -> None:
    response = save(staff_client, model="", input_per_million="-1", per_request="abc")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="alert error"') == 1
    assert "Nothing was saved. Please correct the errors below." in body
    for field in ("model", "input_per_million", "per_request"):
        assert f'id="id_{field}_errors"' in body
    assert "An amount cannot be negative." in body
    assert 'name="per_request" value="abc"' in body
    assert not ModelPrice.objects.exists()
    assert not AuditEvent.objects.exists()


# --- deleting --------------------------------------------------------------------------


def test_a_get_asks_before_deleting(staff_client: Client) -> None:
    make_price()
    response = staff_client.get(DELETE_URL, {"model": "org/model-x"})
    body = response.content.decode()
    assert "Delete the price of “org/model-x”?" in body
    assert 'name="model" value="org/model-x"' in body
    assert ModelPrice.objects.exists()


def test_a_post_deletes_and_redirects(staff_client: Client) -> None:
    make_price()
    start = relay_version()
    response = staff_client.post(DELETE_URL, {"model": "org/model-x"})
    assert response.status_code == 302
    assert response["Location"] == URL
    assert not ModelPrice.objects.exists()
    assert relay_version() > start
    assert only_event().action == "deleted"


def test_htmx_deletes_from_the_row_link_and_asks_the_table_to_refresh(
    staff_client: Client,
) -> None:
    make_price()
    response = staff_client.post(f"{DELETE_URL}?model=org%2Fmodel-x", headers=HTMX)
    assert response.status_code == 200
    assert response.content == b""
    assert "prices-changed" in response["HX-Trigger"]
    assert not ModelPrice.objects.exists()


def test_deleting_a_missing_price_is_a_404(staff_client: Client) -> None:
    assert staff_client.post(DELETE_URL, {"model": "nothing"}).status_code == 404
    assert staff_client.get(DELETE_URL).status_code == 404


# --- group multipliers -----------------------------------------------------------------


def test_it_lists_every_group_with_its_multiplier(staff_client: Client) -> None:
    make_channel(groups=["vip"])
    make_token(group="team-a")
    GroupMultiplier.objects.create(name="vip", price_multiplier=Decimal("0.8"))
    body = staff_client.get(URL).content.decode()
    for name, value in (("default", "1"), ("team-a", "1"), ("vip", "0.8")):
        assert f'<input type="hidden" name="name" value="{name}">' in body
        assert f'aria-label="Price multiplier of “{name}”"\n             value="{value}"' in body


def test_a_multiplier_post_saves_and_redirects(staff_client: Client) -> None:
    start = relay_version()
    response = staff_client.post(GROUP_URL, {"name": "vip", "price_multiplier": "1.25"})
    assert response.status_code == 302
    assert response["Location"] == URL
    assert GroupMultiplier.objects.get().price_multiplier == Decimal("1.25")
    assert relay_version() > start
    assert only_event().changes == {"price_multiplier": ["1", "1.25"]}


def test_htmx_gets_the_saved_row(staff_client: Client) -> None:
    response = staff_client.post(GROUP_URL, {"name": "vip", "price_multiplier": "2"}, headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith("<tr>")
    assert 'value="2"' in body
    assert "list price" not in body


def test_a_bad_multiplier_is_shown_beside_it_in_the_row(staff_client: Client) -> None:
    response = staff_client.post(GROUP_URL, {"name": "vip", "price_multiplier": "-1"}, headers=HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="price-inline has-error"' in body
    assert 'value="-1" aria-invalid="true"' in body
    assert "A multiplier cannot be negative." in body
    assert not GroupMultiplier.objects.exists()


def test_without_javascript_a_bad_multiplier_comes_back_as_a_message(
    staff_client: Client,
) -> None:
    response = staff_client.post(GROUP_URL, {"name": "vip", "price_multiplier": "x"}, follow=True)
    assert "The multiplier of “vip” was not changed" in response.content.decode()
    assert not GroupMultiplier.objects.exists()


# --- Chinese ---------------------------------------------------------------------------


def test_it_speaks_simplified_chinese(staff_client: Client) -> None:
    make_price(per_request=1)
    body = staff_client.get(URL, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "<h1>价格</h1>" in body
    assert "<h2>模型价格</h2>" in body
    assert "分组倍率" in body
    assert '<a href="/prices/" aria-current="page">价格</a>' in body
    response = staff_client.post(
        URL, {**VALID, "model": " "}, headers={"Accept-Language": "zh-hans"}
    )
    assert "必须是非空字符串。" in response.content.decode()
