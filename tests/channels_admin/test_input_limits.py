"""Admin input that would cost too much, or that the database would refuse, gets a clear error.

Run on PostgreSQL too: there a NUL character or an over-long value reaching the database is an
error from the database (a 500), not a message beside the field.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_admin.models import Channel
from channels_admin.services import channel_create
from channels_admin.validation import (
    MAX_GROUP_NAME_LENGTH,
    MAX_GROUPS,
    MAX_KEY_LENGTH,
    MAX_MAPPING_ENTRIES,
    MAX_MODEL_NAME_LENGTH,
    MAX_MODELS,
    MAX_NAME_LENGTH,
    mapping_errors,
)
from tests.support.channels import add_form, form_cleaned, form_errors
from tests.support.factories import NEW_CHANNEL
from tests.support.pages import HTMX

pytestmark = pytest.mark.django_db


def refused(**fields: Any) -> dict[str, list[str]]:
    """The form's errors for a new channel with `fields`."""
    return form_errors({**NEW_CHANNEL, **fields})


def save(**fields: Any) -> Channel:
    """A new channel with `fields`, through the form as every surface does."""
    return channel_create(**form_cleaned({**NEW_CHANNEL, **fields}))


def chain(length: int) -> dict[str, str]:
    return {f"m{index}": f"m{index + 1}" for index in range(length)}


# --- models and groups -------------------------------------------------------------------


def test_the_most_models_allowed_are_saved() -> None:
    models = [f"model-{index}" for index in range(MAX_MODELS)]
    channel = save(models=models)
    assert Channel.objects.get(pk=channel.pk).model_names == models


def test_thirty_thousand_models_are_refused_plainly() -> None:
    errors = refused(models=[f"model-{index}" for index in range(30_000)])
    assert errors == {"models": [f"At most {MAX_MODELS} models per channel (got 30000)."]}


def test_repeats_do_not_count_against_the_cap() -> None:
    models = [f"model-{index % 10}" for index in range(30_000)]
    channel = save(models=models)
    assert channel.model_names == [f"model-{index}" for index in range(10)]


def test_a_model_name_has_a_length_cap() -> None:
    save(models=["m" * MAX_MODEL_NAME_LENGTH])
    Channel.objects.all().delete()
    [message] = refused(models=["ok", "m" * (MAX_MODEL_NAME_LENGTH + 1)])["models"]
    assert f"is longer than {MAX_MODEL_NAME_LENGTH} characters" in message


def test_groups_have_caps_too() -> None:
    [message] = refused(groups=["g" * (MAX_GROUP_NAME_LENGTH + 1)])["groups"]
    assert f"longer than {MAX_GROUP_NAME_LENGTH} characters" in message
    [message] = refused(groups=[f"g{index}" for index in range(MAX_GROUPS + 1)])["groups"]
    assert message == f"At most {MAX_GROUPS} groups per channel (got {MAX_GROUPS + 1})."


# --- the mapping -------------------------------------------------------------------------


def test_a_long_chain_is_accepted_and_saved() -> None:
    mapping = chain(1_200)
    channel = save(model_mapping=mapping)
    assert Channel.objects.get(pk=channel.pk).model_mapping == mapping


def test_a_cycle_at_the_end_of_a_long_chain_is_found_and_shown_short() -> None:
    mapping = chain(MAX_MAPPING_ENTRIES - 1)
    mapping[f"m{MAX_MAPPING_ENTRIES - 1}"] = "m1000"
    [problem] = mapping_errors(mapping)
    assert problem.startswith("The mapping has a cycle: m0 → m1 → ")
    assert problem.endswith(" → ….")
    assert len(problem) < 200


def test_a_mapping_has_a_size_cap() -> None:
    errors = refused(model_mapping=chain(MAX_MAPPING_ENTRIES + 1))
    assert errors == {
        "model_mapping": [
            f"At most {MAX_MAPPING_ENTRIES} mapped names per channel "
            f"(got {MAX_MAPPING_ENTRIES + 1})."
        ]
    }


def test_many_bad_entries_are_summed_up() -> None:
    problems = mapping_errors({f"m{index}": index for index in range(50)})
    assert len(problems) == 11
    assert problems[-1] == "… and 40 more problems in the mapping."


def test_mapping_names_have_a_length_cap() -> None:
    [problem] = refused(model_mapping={"fast": "x" * (MAX_MODEL_NAME_LENGTH + 1)})["model_mapping"]
    assert f"at most {MAX_MODEL_NAME_LENGTH} characters" in problem


# --- what PostgreSQL would refuse --------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "bad\x00name"}, "name"),
        ({"base_url": "https://api.example.net/v\x001"}, "base_url"),
        ({"key": "sk-abc\x00def"}, "key"),
        ({"models": ["gpt\x00"]}, "models"),
        ({"groups": ["vip\x00"]}, "groups"),
        ({"model_mapping": {"fa\x00st": "m"}}, "model_mapping"),
        ({"model_mapping": {"fast": "m\x00"}}, "model_mapping"),
        ({"test_model": "m\x00"}, "test_model"),
        ({"name": "lone \ud800 surrogate"}, "name"),
        ({"models": ["lone-\udfff"]}, "models"),
        ({"name": "n" * (MAX_NAME_LENGTH + 1)}, "name"),
        ({"key": "k" * (MAX_KEY_LENGTH + 1)}, "key"),
        ({"key": "sk-ключ-1234567890"}, "key"),
        ({"test_model": "t" * (MAX_MODEL_NAME_LENGTH + 1)}, "test_model"),
    ],
)
def test_what_the_database_would_refuse_is_a_field_error(
    fields: dict[str, Any], field: str
) -> None:
    errors = refused(**fields)
    assert list(errors) == [field]


def test_a_change_is_checked_the_same_way() -> None:
    channel = save()
    errors = form_errors({"test_model": "x\x00", "groups": ["a\x00"]}, channel=channel)
    assert set(errors) == {"test_model", "groups"}


# --- the form ----------------------------------------------------------------------------


def deep_json(depth: int) -> str:
    return '{"a": ' * depth + '"x"' + "}" * depth


def test_a_deeply_nested_mapping_json_is_a_clear_error(staff_client: Client) -> None:
    response = staff_client.post(
        "/channels/add/", add_form(mapping_mode="json", model_mapping=deep_json(3_000))
    )
    assert response.status_code == 200
    assert "The JSON is nested too deeply" in response.content.decode()
    assert not Channel.objects.exists()


def test_the_mapping_editor_says_so_too(staff_client: Client) -> None:
    response = staff_client.post(
        "/channels/mapping-editor/",
        {"mapping_mode": "json", "model_mapping": deep_json(3_000), "action": "mapping-rows"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "The JSON is nested too deeply" in response.content.decode()


@pytest.mark.parametrize(
    "overrides",
    [
        {"mapping_mode": "json", "model_mapping": '{"fast": "gpt\\u0000"}'},
        {"mapping_mode": "json", "model_mapping": '{"fast": "\\ud800"}'},
        {"mapping_mode": "json", "model_mapping": '{"\\ud800": "gpt-4o"}'},
        {"mapping_from": ["fa\x00st"], "mapping_to": ["gpt-4o"]},
    ],
)
def test_control_characters_in_the_mapping_are_a_field_error(
    staff_client: Client, overrides: dict[str, Any]
) -> None:
    body = staff_client.post("/channels/add/", add_form(**overrides)).content.decode()
    assert "names cannot contain control characters" in body
    assert not Channel.objects.exists()


def test_thirty_thousand_models_in_the_form_are_refused_beside_the_field(
    staff_client: Client,
) -> None:
    models = "\n".join(f"model-{index}" for index in range(30_000))
    body = staff_client.post("/channels/add/", add_form(models=models)).content.decode()
    assert f'id="id_models_errors"><li>At most {MAX_MODELS} models per channel (got 30000).' in body
    assert not Channel.objects.exists()
