"""What every entity form shares: one form per entity validates input for the pages, the JSON
admin API and manage.py alike, and services receive only its clean values.

- `CheckedField`: a field parsed by one plain function (raw value -> clean value, or
  ValueError with the message), whatever shape the input has (form text, JSON list, number).
- `EntityForm.from_json(data, partial=...)`: the API's view of the same form. Unknown keys are
  errors of their own; a create fills absent fields with their defaults; a PATCH
  (`partial=True`) checks and changes only the fields present.
- `add_errors(form, error)`: a ValidationError raised after the form (by a save) shown like
  the form's own errors: beside its fields, the rest on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

UNKNOWN_FIELD = _("Unknown field.")


class CheckedField(forms.Field):
    """A field whose value is `check(raw)`; `check` raises ValueError(message) to refuse it.

    A required field treats the values in `missing` (None and "" unless told) as absent: "This
    field is required." Any other value goes to `check`, so every message comes from one place.
    """

    def __init__(
        self,
        *,
        check: Callable[[Any], Any],
        missing: tuple[Any, ...] = (None, ""),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.missing = missing

    def to_python(self, value: Any) -> Any:
        if self.required and value in self.missing:
            return None
        try:
            return self.check(value)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid") from None

    def validate(self, value: Any) -> None:
        if self.required and value is None:
            raise ValidationError(self.error_messages["required"], code="required")

    def has_changed(self, initial: Any, data: Any) -> bool:
        # Compared as clean values: "10.0.0.1" and "10.0.0.1/32" are the same address.
        try:
            return bool(self.to_python(initial) != self.to_python(data))
        except ValidationError:
            return True


class EntityForm(forms.Form):
    """A form that the pages bind to POST data and the JSON admin API to a parsed body."""

    unknown_fields: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unknown_fields = []

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, partial: bool, **kwargs: Any) -> Self:
        """The form bound to a plain mapping (a parsed JSON body, or a row action's few
        values): a create (`partial=False`) or a PATCH (`partial=True`)."""
        if not partial:
            # An absent field takes its default; a present null is checked like any value.
            defaults = {
                name: field.initial
                for name, field in cls.base_fields.items()
                if field.initial is not None
            }
            data = {**defaults, **data}
        form = cls(dict(data), **kwargs)
        form.unknown_fields = sorted(set(data) - set(form.fields))
        if partial:
            for name, field in list(form.fields.items()):
                if name not in data:
                    del form.fields[name]
                elif isinstance(field, CheckedField):
                    # Present in a PATCH, so never "missing": a null is checked like any value.
                    field.missing = ()
        return form

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and self.unknown_fields:
            errors = ErrorDict(
                {name: self.error_class([str(UNKNOWN_FIELD)]) for name in self.unknown_fields}
            )
            errors.update(self.errors)
            self._errors = errors

    def changed_values(self) -> dict[str, Any]:
        """The clean values of the fields whose value differs from the initial one."""
        return {name: self.cleaned_data[name] for name in self.changed_data}

    def validation_error(self) -> ValidationError:
        """The form's errors as one ValidationError, {field: [messages]}: what the API sends."""
        return ValidationError(
            {name: [str(message) for message in messages] for name, messages in self.errors.items()}
        )


def add_errors(form: forms.Form, error: ValidationError) -> None:
    """Show `error` in `form`: each field's messages beside it, the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)
