"""channels_admin.selectors: the channel rules that pages, token forms and the relay share."""

from __future__ import annotations

import pytest

from channels_admin.models import Channel
from channels_admin.selectors import (
    failed_last_test_count,
    groups_in_use,
    models_served,
    served_model_names,
    serves,
    upstream_model,
)
from tests.support.factories import make_channel


def test_a_channel_serves_its_models_then_its_aliases_each_once() -> None:
    served = models_served(["gpt-4o", "gpt-4o-mini"], {"fast": "gpt-4o-mini", "gpt-4o": "gpt-4o"})

    assert served == ["gpt-4o", "gpt-4o-mini", "fast"]


def test_names_that_are_not_text_are_not_served() -> None:
    assert models_served(["gpt-4o", 7, None], {3: "x"}) == ["gpt-4o"]  # type: ignore[list-item,dict-item]


def test_an_alias_goes_upstream_under_its_target_name() -> None:
    mapping = {"fast": "gpt-4o-mini"}

    assert upstream_model(mapping, "fast") == "gpt-4o-mini"
    assert upstream_model(mapping, "gpt-4o") == "gpt-4o"


@pytest.mark.django_db
def test_serves_answers_for_models_and_aliases() -> None:
    channel = make_channel(name="main", models=["gpt-4o"], model_mapping={"fast": "gpt-4o"})

    assert serves(channel, "gpt-4o")
    assert serves(channel, "fast")
    assert not serves(channel, "gpt-4o-mini")


@pytest.mark.django_db
def test_only_enabled_channels_offer_models_sorted_without_regard_to_case() -> None:
    make_channel(name="main", models=["b-model", "A-model"], model_mapping={"c-alias": "b-model"})
    make_channel(name="off", models=["hidden"], status="disabled")

    assert served_model_names() == ["A-model", "b-model", "c-alias"]


@pytest.mark.django_db
def test_models_served_in_one_group() -> None:
    make_channel(name="main", models=["everyone"])
    make_channel(name="vip", models=["vip-only", "everyone"], groups=["vip"])

    assert served_model_names(group="default") == ["everyone"]
    assert served_model_names(group="vip") == ["everyone", "vip-only"]
    assert served_model_names(group="nobody") == []


@pytest.mark.django_db
def test_groups_in_use_include_disabled_channels_and_default_only_when_asked() -> None:
    make_channel(name="main", models=["m"], groups=["vip", "Beta"])
    make_channel(name="off", models=["m"], groups=["alpha"], status="disabled")

    assert groups_in_use() == ["alpha", "Beta", "vip"]
    assert groups_in_use(with_default=True) == ["alpha", "Beta", "default", "vip"]


@pytest.mark.django_db
def test_failed_last_tests_are_counted_not_untested_or_passed_ones() -> None:
    for name, outcome in [("a", False), ("b", False), ("c", True), ("d", None)]:
        channel = make_channel(name=name, models=["m"])
        Channel.objects.filter(pk=channel.pk).update(last_test_ok=outcome)

    assert failed_last_test_count() == 2
