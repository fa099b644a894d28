"""core.forms: the pieces every entity form is built from."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from core.forms import CheckedField, EntityForm, add_errors


def _positive(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("Must be a positive whole number.")
    return value


class ThingForm(EntityForm):
    name = forms.CharField()
    size = CheckedField(check=_positive, missing=(), initial=1)


def test_a_checked_field_takes_any_input_shape_and_one_message() -> None:
    assert ThingForm.from_json({"name": "a", "size": 3}, partial=False).is_valid()
    form = ThingForm.from_json({"name": "a", "size": "3"}, partial=False)
    assert not form.is_valid()
    assert form.errors["size"] == ["Must be a positive whole number."]


def test_a_create_fills_absent_fields_but_checks_a_present_null() -> None:
    form = ThingForm.from_json({"name": "a"}, partial=False)
    assert form.is_valid() and form.cleaned_data["size"] == 1
    assert not ThingForm.from_json({"name": "a", "size": None}, partial=False).is_valid()


def test_a_patch_checks_only_what_it_names() -> None:
    form = ThingForm.from_json({"size": 2}, partial=True)
    assert form.is_valid() and form.cleaned_data == {"size": 2}


def test_unknown_fields_are_errors_of_their_own_first() -> None:
    form = ThingForm.from_json({"size": 0, "colour": "red"}, partial=False)
    assert not form.is_valid()
    assert list(form.validation_error().message_dict) == ["colour", "name", "size"]
    assert form.errors["colour"] == ["Unknown field."]


def test_add_errors_puts_each_message_beside_its_field_and_the_rest_on_top() -> None:
    form = ThingForm({"name": "a", "size": 1})
    assert form.is_valid()
    add_errors(form, ValidationError({"name": ["Taken."], "elsewhere": ["Busy."]}))
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Busy."]
    add_errors(form, ValidationError("Down."))
    assert "Down." in form.non_field_errors()
