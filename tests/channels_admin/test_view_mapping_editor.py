from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.support.pages import HTMX, assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db
URL = "/channels/mapping-editor/"


def _rows(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "mapping_mode": "rows",
        "mapping_from": ["fast", "smart"],
        "mapping_to": ["gpt-4o-mini", "o1"],
    }
    data.update(overrides)
    return data


def _row_values(body: str) -> list[tuple[str, str]]:
    requested = re.findall(r'name="mapping_from" value="([^"]*)"', body)
    upstream = re.findall(r'name="mapping_to" value="([^"]*)"', body)
    return list(zip(requested, upstream, strict=True))


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().post(URL, _rows(action="mapping-add")), URL)


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.post(URL, _rows(action="mapping-add")))


def test_it_rejects_get(staff_client: Client) -> None:
    assert staff_client.get(URL).status_code == 405


def test_it_adds_a_row_keeping_the_others(staff_client: Client) -> None:
    response = staff_client.post(URL, _rows(action="mapping-add"), headers=HTMX)
    body = response.content.decode()

    assert response.status_code == 200
    assert body.startswith('<fieldset id="mapping-editor"')
    assert _row_values(body) == [("fast", "gpt-4o-mini"), ("smart", "o1"), ("", "")]


def test_it_removes_the_chosen_row(staff_client: Client) -> None:
    body = staff_client.post(URL, _rows(action="mapping-remove-0"), headers=HTMX).content.decode()
    assert _row_values(body) == [("smart", "o1")]


def test_removing_the_last_row_leaves_an_empty_one(staff_client: Client) -> None:
    body = staff_client.post(
        URL,
        {
            "mapping_mode": "rows",
            "mapping_from": ["a"],
            "mapping_to": ["b"],
            "action": "mapping-remove-0",
        },
        headers=HTMX,
    ).content.decode()
    assert _row_values(body) == [("", "")]


def test_it_switches_rows_to_json(staff_client: Client) -> None:
    body = staff_client.post(
        URL,
        _rows(mapping_from=["fast", "", "fast"], mapping_to=["a", "", "b"], action="mapping-json"),
        headers=HTMX,
    ).content.decode()

    assert '<input type="hidden" name="mapping_mode" value="json">' in body
    # Blank rows go; a repeated name is kept, for the check on save to point out.
    assert (
        "{\n  &quot;fast&quot;: &quot;a&quot;,\n  &quot;fast&quot;: &quot;b&quot;\n}</textarea>"
        in body
    )
    assert 'value="mapping-rows"' in body
    assert 'name="mapping_from"' not in body


def test_it_switches_json_to_rows(staff_client: Client) -> None:
    body = staff_client.post(
        URL,
        {
            "mapping_mode": "json",
            "model_mapping": '{"fast": "gpt-4o-mini"}',
            "action": "mapping-rows",
        },
        headers=HTMX,
    ).content.decode()

    assert '<input type="hidden" name="mapping_mode" value="rows">' in body
    assert _row_values(body) == [("fast", "gpt-4o-mini"), ("", "")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "Not valid JSON: Expecting property name enclosed in double quotes"),
        ('{"fast": ["a"]}', "Every upstream name must be a string."),
        ('"fast"', "Must be a JSON object of requested name to upstream name."),
    ],
)
def test_invalid_json_stays_json_with_the_error(
    staff_client: Client, text: str, message: str
) -> None:
    body = staff_client.post(
        URL, {"mapping_mode": "json", "model_mapping": text, "action": "mapping-rows"}, headers=HTMX
    ).content.decode()

    assert '<fieldset id="mapping-editor" class="ch-mapping has-error">' in body
    assert message in body
    assert '<input type="hidden" name="mapping_mode" value="json">' in body


def test_it_escapes_names(staff_client: Client) -> None:
    body = staff_client.post(
        URL,
        _rows(mapping_from=['"><script>x</script>'], mapping_to=["o1"], action="mapping-add"),
        headers=HTMX,
    ).content.decode()

    assert "<script>x</script>" not in body
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in body
