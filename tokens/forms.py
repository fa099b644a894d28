"""Forms for the token pages. They only shape input: tokens.services validates and saves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from channels_admin.models import Channel, ChannelStatus
from tokens.models import Token, TokenStatus
from tokens.validation import ECHO_LENGTH, MAX_EXPIRY_TEXT, MAX_GROUP, MAX_NAME


def served_models() -> list[str]:
    """Every model name a client can ask for: enabled channels' models and mapping aliases."""
    names: set[str] = set()
    for model_names, mapping in Channel.objects.filter(status=ChannelStatus.ENABLED).values_list(
        "model_names", "model_mapping"
    ):
        names.update(name for name in model_names or [] if isinstance(name, str))
        names.update(name for name in (mapping or {}) if isinstance(name, str))
    return sorted(names, key=str.lower)


def channel_groups() -> list[str]:
    groups: set[str] = {"default"}
    for channel_groups in Channel.objects.values_list("groups", flat=True):
        groups.update(group for group in channel_groups or [] if isinstance(group, str))
    return sorted(groups, key=str.lower)


def apply_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's {field: [messages]} beside the matching fields; the rest on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class ModelNamesField(forms.MultipleChoiceField):
    """Checks the ticked names against a set: linear however many models the channels serve."""

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        offered = {str(name) for name, _label in self.choices}
        for name in value:
            if name not in offered:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": name[:ECHO_LENGTH]},
                )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=MAX_NAME)
    group = forms.CharField(
        label=_("Group"),
        max_length=MAX_GROUP,
        initial="default",
        help_text=_("The token routes only to channels in this group."),
        widget=forms.TextInput(attrs={"list": "token-groups"}),
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=TokenStatus.choices, initial=TokenStatus.ENABLED
    )
    expires_at = forms.CharField(
        label=_("Expires at"),
        required=False,
        max_length=MAX_EXPIRY_TEXT,
        help_text=_("Leave empty for a token that never expires."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    models = ModelNamesField(
        label=_("Allowed models"),
        required=False,
        help_text=_("Tick none to allow every model."),
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_ips = forms.CharField(
        label=_("Allowed IPs"),
        required=False,
        help_text=_("One IP address or CIDR range per line. Leave empty to allow any client."),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, token: Token | None = None, **kwargs: Any) -> None:
        if token is not None:
            kwargs.setdefault("initial", initial_for(token))
        super().__init__(*args, **kwargs)
        choices = served_models()
        # A model the token already allows stays visible, so an edit never drops it silently.
        offered = set(choices)
        choices.extend(
            name for name in (token.allowed_models if token else []) if name not in offered
        )
        self.fields["models"].choices = [(name, name) for name in choices]
        self.groups = channel_groups()

    def service_data(self, *, only_changed: bool) -> dict[str, Any]:
        fields = self.changed_data if only_changed else list(self.fields)
        return {field: self.cleaned_data[field] for field in fields}


def initial_for(token: Token) -> dict[str, Any]:
    expires = ""
    if token.expires_at is not None:
        expires = timezone.localtime(token.expires_at).strftime("%Y-%m-%dT%H:%M")
    return {
        "name": token.name,
        "group": token.group,
        "status": token.status,
        "expires_at": expires,
        "models": list(token.allowed_models),
        "allowed_ips": "\n".join(token.allowed_ips),
    }


class AdminKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=MAX_NAME,
        help_text=_("What the key is for, e.g. “deploy script”."),
    )
