from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from tests.support.channels import add_form
from tests.support.factories import CHANNEL_KEY
from tests.support.pages import assert_forbidden, assert_login_redirect

pytestmark = pytest.mark.django_db


def _post(**overrides: Any) -> dict[str, Any]:
    """A channel with every field of the form filled in, mapping rows included."""
    return add_form(
        **{
            "name": "OpenAI main",
            "base_url": "https://api.example.net/v1/",
            "models": "gpt-4o-mini\ngpt-4o, o1",
            "groups": "default, vip",
            "weight": "3",
            "priority": "5",
            "test_model": "gpt-4o",
            "mapping_from": ["fast", ""],
            "mapping_to": ["gpt-4o-mini", ""],
            **overrides,
        }
    )


def test_it_sends_anonymous_visitors_to_login() -> None:
    assert_login_redirect(Client().get("/channels/add/"), "/channels/add/")
    assert_login_redirect(Client().post("/channels/add/", _post()), "/channels/add/")
    assert not Channel.objects.exists()


def test_it_refuses_non_staff(plain_client: Client) -> None:
    assert_forbidden(plain_client.get("/channels/add/"))
    assert_forbidden(plain_client.post("/channels/add/", _post()))
    assert not Channel.objects.exists()


def test_it_checks_csrf(csrf_client: Client) -> None:
    assert csrf_client.post("/channels/add/", _post()).status_code == 403
    assert not Channel.objects.exists()


def test_it_shows_the_form(staff_client: Client) -> None:
    response = staff_client.get("/channels/add/")
    body = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Add channel</h1>" in body
    # The shared field layout: a red * on every required field, none on the optional one.
    for label in (
        "Name",
        "Type",
        "API address",
        "Keys, one per line",
        "Models",
        "Groups",
        "Weight",
        "Priority",
        "Status",
    ):
        assert f'>{label} <span class="required" aria-hidden="true">*</span></label>' in body
    assert ">Test model</label>" in body
    assert '<textarea name="keys"' in body
    assert "<legend>Model mapping</legend>" in body
    assert 'hx-post="/channels/fetch-models/"' in body
    assert '<form method="post" class="form ch-channel-form" novalidate' in body
    # One form layout: Back is a link in the page head, Cancel a link beside Save.
    assert '<a href="/channels/">Back to channels</a>' in body
    assert '<a href="/channels/">Cancel</a>' in body
    # The models help fits the tag input it stands under.
    assert "Type a name and press Enter, or paste several separated by commas." in body
    assert "One per line" not in body
    # The weight box takes the largest weight there is.
    assert 'name="weight" value="1" class="input-number" min="0" max="2147483647"' in body
    assert 'action="/channels/add/"' in body


def test_it_adds_a_channel(staff_client: Client) -> None:
    response = staff_client.post("/channels/add/", _post())

    assert response.status_code == 302
    assert response["Location"] == "/channels/"
    channel = Channel.objects.get()
    assert channel.name == "OpenAI main"
    assert channel.base_url == "https://api.example.net/v1"
    assert channel.api_key == CHANNEL_KEY
    assert channel.model_names == ["gpt-4o-mini", "gpt-4o", "o1"]
    assert channel.groups == ["default", "vip"]
    assert (channel.weight, channel.priority, channel.status) == (3, 5, "enabled")
    assert channel.test_model == "gpt-4o"
    assert channel.model_mapping == {"fast": "gpt-4o-mini"}
    page = staff_client.get(response["Location"])
    assert "Added channel “OpenAI main”." in page.content.decode()


def test_the_key_never_appears_after_saving(staff_client: Client) -> None:
    staff_client.post("/channels/add/", _post())
    channel = Channel.objects.get()

    for url in (
        "/channels/",
        f"/channels/{channel.pk}/",
        f"/channels/{channel.pk}/delete/",
    ):
        response = staff_client.get(url)
        assert response.status_code == 200
        assert CHANNEL_KEY.encode() not in response.content
    assert "sk-…WXYZ".encode() in staff_client.get(f"/channels/{channel.pk}/").content


def test_ticked_fetched_models_are_added(staff_client: Client) -> None:
    staff_client.post(
        "/channels/add/",
        _post(
            models="gpt-4o",
            offered_models=["gpt-4o", "o1", "o3"],
            fetched_models=["o3", "gpt-4o"],
        ),
    )
    assert Channel.objects.get().model_names == ["gpt-4o", "o3"]


def test_bad_input_shows_each_error_beside_its_field(staff_client: Client) -> None:
    response = staff_client.post(
        "/channels/add/",
        _post(
            name="",
            base_url="ftp://nope",
            keys="",
            models="",
            groups="",
            weight="-1",
            priority="high",
            status="sleeping",
        ),
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert body.count("Nothing was saved. Please correct the errors below.") == 1
    assert '<ul class="field-errors" id="id_name_errors"><li>This field is required.' in body
    assert 'id="id_base_url_errors"><li>Enter an http:// or https:// URL.' in body
    assert 'id="id_keys_errors"><li>Enter at least one key.' in body
    assert 'id="id_models_errors"><li>This field is required.' in body
    assert 'id="id_groups_errors"><li>At least one is required.' in body
    assert 'id="id_weight_errors"><li>Must be at least 0.' in body
    assert 'id="id_priority_errors"><li>Must be a whole number.' in body
    assert 'id="id_status_errors"><li>Unknown status. Choose one of: enabled, disabled.' in body
    assert not Channel.objects.exists()


def test_entered_values_are_kept_but_not_the_key(staff_client: Client) -> None:
    body = staff_client.post("/channels/add/", _post(weight="x")).content.decode()

    assert 'value="OpenAI main"' in body
    assert 'value="https://api.example.net/v1/"' in body
    assert CHANNEL_KEY not in body
    assert not Channel.objects.exists()


def test_duplicate_mapping_rows_are_refused(staff_client: Client) -> None:
    body = staff_client.post(
        "/channels/add/",
        _post(mapping_from=["fast", "fast"], mapping_to=["gpt-4o-mini", "gpt-4o"]),
    ).content.decode()

    assert "Nothing was saved." in body
    assert "“fast” is mapped more than once." in body
    assert "Correct the highlighted mapping rows." in body
    assert '<tr class="ch-mapping-row has-error">' in body
    assert not Channel.objects.exists()


def test_half_empty_mapping_rows_are_refused(staff_client: Client) -> None:
    body = staff_client.post(
        "/channels/add/", _post(mapping_from=["fast"], mapping_to=[""])
    ).content.decode()

    assert "Fill in both names, or remove the row." in body
    assert not Channel.objects.exists()


def test_mapping_cycles_are_refused(staff_client: Client) -> None:
    body = staff_client.post(
        "/channels/add/", _post(mapping_from=["a", "b"], mapping_to=["b", "a"])
    ).content.decode()

    assert "The mapping has a cycle: a → b → a." in body
    assert not Channel.objects.exists()


def test_the_mapping_can_be_given_as_json(staff_client: Client) -> None:
    staff_client.post(
        "/channels/add/",
        _post(mapping_mode="json", model_mapping='{"fast": "gpt-4o-mini", "smart": "o1"}'),
    )
    assert Channel.objects.get().model_mapping == {"fast": "gpt-4o-mini", "smart": "o1"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"fast": ', "Not valid JSON: Expecting value (line 1, column 10)."),
        ('["fast"]', "Must be a JSON object of requested name to upstream name."),
        ('{"fast": "a", "fast": "b"}', "“fast” is mapped more than once."),
        ('{"fast": 3}', "“fast” must map to a string."),
    ],
)
def test_bad_json_mappings_are_refused(staff_client: Client, text: str, message: str) -> None:
    body = staff_client.post(
        "/channels/add/", _post(mapping_mode="json", model_mapping=text)
    ).content.decode()

    assert message in body
    assert "Nothing was saved." in body
    # The JSON stays as typed so it can be fixed.
    assert '<textarea id="id_model_mapping" name="model_mapping"' in body
    assert not Channel.objects.exists()


def test_mapping_buttons_work_without_javascript(staff_client: Client) -> None:
    added = staff_client.post("/channels/add/", _post(action="mapping-add")).content.decode()
    assert added.count('name="mapping_from"') == 3
    assert "Nothing was saved." not in added
    # The key is never echoed back, so the page asks for it again.
    assert "enter it again before saving" in added
    assert CHANNEL_KEY not in added

    removed = staff_client.post("/channels/add/", _post(action="mapping-remove-0")).content.decode()
    assert removed.count('name="mapping_from"') == 1
    assert 'value="fast"' not in removed

    as_json = staff_client.post("/channels/add/", _post(action="mapping-json")).content.decode()
    assert "{\n  &quot;fast&quot;: &quot;gpt-4o-mini&quot;\n}</textarea>" in as_json
    assert not Channel.objects.exists()


def test_fetch_models_works_without_javascript(staff_client: Client, upstream: Any) -> None:
    response = staff_client.post(
        "/channels/add/",
        _post(
            action="fetch-models", base_url=upstream.v1, keys=upstream.api_key, models="gpt-4o-mini"
        ),
    )
    body = response.content.decode()

    assert response.status_code == 200
    assert 'value="text-embedding-3-small"> text-embedding-3-small</label>' in body
    assert "✓ gpt-4o-mini" in body  # already in the list
    assert upstream.api_key not in body
    assert upstream.requests[-1].path == "/v1/models"
    assert not Channel.objects.exists()


def test_it_speaks_simplified_chinese(staff_client: Client) -> None:
    body = staff_client.get("/channels/add/", headers={"Accept-Language": "zh-hans"}).content
    text = body.decode()

    assert "<h1>添加渠道</h1>" in text
    assert "<legend>模型映射</legend>" in text
    for label in ("分组", "权重", "优先级"):
        assert f'>{label} <span class="required" aria-hidden="true">*</span></label>' in text
    assert ">获取模型列表</button>" in text
