"""The token and admin-key forms: the one place their input is validated.

The pages bind them to POST data, the JSON admin API to the parsed body
(`TokenForm.from_json`), manage.py to its arguments; tokens.services then writes the clean
values without checking them again. Each field's rule is a function in tokens.validation.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels_admin.selectors import groups_in_use, served_model_names
from core.forms import CheckedField, EntityForm
from core.money import format_money
from tokens.models import Token, TokenStatus
from tokens.validation import (
    ECHO_LENGTH,
    MAX_EXPIRY_TEXT,
    MAX_GROUP,
    MAX_MONEY_TEXT,
    MAX_NAME,
    MAX_RPM_LIMIT,
    MAX_TPM_LIMIT,
    clean_allowed_ips,
    clean_allowed_models,
    clean_money_limit,
    clean_rate_limit,
    clean_status,
    clean_text,
    parse_expiry,
)


def _name(value: Any) -> str:
    return clean_text(value, max_length=MAX_NAME)


def _group(value: Any) -> str:
    return clean_text(value, max_length=MAX_GROUP)


def _allowed_ips(value: Any) -> list[str]:
    # null, "" and [] all mean "any client".
    return clean_allowed_ips(value or [])


def _rpm_limit(value: Any) -> int | None:
    return clean_rate_limit(value, maximum=MAX_RPM_LIMIT)


def _tpm_limit(value: Any) -> int | None:
    return clean_rate_limit(value, maximum=MAX_TPM_LIMIT)


def _limit_widget(maximum: int) -> forms.NumberInput:
    return forms.NumberInput(
        attrs={"class": "input-number", "min": "1", "max": str(maximum), "inputmode": "numeric"}
    )


def _money_widget() -> forms.TextInput:
    # Text, not type=number: a browser's number input would round or reformat an amount with
    # nine decimals, and the amount is kept exactly as typed.
    return forms.TextInput(
        attrs={
            "class": "input-number",
            "inputmode": "decimal",
            "maxlength": MAX_MONEY_TEXT,
            "autocomplete": "off",
        }
    )


MONEY_FIELDS = ("quota_limit", "daily_budget", "monthly_budget")
# What the gateway counts and the API reports, never takes: named in a refusal as read-only
# rather than as an unknown field, since a client may send back what it read.
READ_ONLY_FIELDS = frozenset({"quota_used", "daily_used", "monthly_used"})
READ_ONLY_FIELD = _("Read-only: the gateway counts what is used.")


class TokenForm(EntityForm):
    name = CheckedField(
        label=_("Name"),
        check=_name,
        widget=forms.TextInput(attrs={"maxlength": MAX_NAME, "autocomplete": "off"}),
    )
    group = CheckedField(
        label=_("Group"),
        check=_group,
        # Blank text is the check's to refuse ("Must be a non-empty string."), not "required".
        missing=(),
        initial="default",
        help_text=_("The token routes only to channels in this group."),
        widget=forms.TextInput(attrs={"list": "token-groups", "maxlength": MAX_GROUP}),
    )
    status = CheckedField(
        label=_("Status"),
        check=clean_status,
        missing=(),
        initial=TokenStatus.ENABLED,
        widget=forms.Select(choices=TokenStatus.choices),
    )
    expires_at = CheckedField(
        label=_("Expires at"),
        check=parse_expiry,
        required=False,
        help_text=_("Leave empty for a token that never expires."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "maxlength": MAX_EXPIRY_TEXT}),
    )
    models = CheckedField(
        label=_("Allowed models"),
        check=clean_allowed_models,
        required=False,
        help_text=_("Tick none to allow every model."),
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_ips = CheckedField(
        label=_("Allowed IPs"),
        check=_allowed_ips,
        required=False,
        help_text=_("One IP address or CIDR range per line. Leave empty to allow any client."),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    rpm_limit = CheckedField(
        label=_("Requests per minute"),
        check=_rpm_limit,
        required=False,
        help_text=_("Leave empty for no limit."),
        widget=_limit_widget(MAX_RPM_LIMIT),
    )
    tpm_limit = CheckedField(
        label=_("Tokens per minute"),
        check=_tpm_limit,
        required=False,
        help_text=_(
            "Prompt and completion tokens together; a request is let through while the "
            "tokens used this minute are below the limit. Leave empty for no limit."
        ),
        widget=_limit_widget(MAX_TPM_LIMIT),
    )
    # Labels name the currency; __init__ fills it in (settings.CURRENCY).
    quota_limit = CheckedField(
        label=_("Quota"),
        check=clean_money_limit,
        required=False,
        help_text=_(
            "The most the token may spend in all, an amount such as 25 or 12.50. "
            "Leave empty for unlimited."
        ),
        widget=_money_widget(),
    )
    daily_budget = CheckedField(
        label=_("Daily budget"),
        check=clean_money_limit,
        required=False,
        help_text=_("The most it may spend in a day, from midnight. Leave empty for unlimited."),
        widget=_money_widget(),
    )
    monthly_budget = CheckedField(
        label=_("Monthly budget"),
        check=clean_money_limit,
        required=False,
        help_text=_("The most it may spend in a month, from the 1st. Leave empty for unlimited."),
        widget=_money_widget(),
    )

    def __init__(
        self,
        *args: Any,
        token: Token | None = None,
        offered_models: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if token is not None:
            kwargs.setdefault("initial", initial_for(token))
        super().__init__(*args, **kwargs)
        # Suggestions for the group field's datalist (the pages fill them in).
        self.groups: list[str] = []
        # The page offers the models the gateway serves as check boxes and accepts only those;
        # the API (None) takes any name.
        self.offered_models = offered_models
        if offered_models is not None and "models" in self.fields:
            self.fields["models"].widget.choices = [(name, name) for name in offered_models]
        for name in MONEY_FIELDS:
            if name in self.fields:
                field = self.fields[name]
                field.label = gettext("%(label)s (%(currency)s)") % {
                    "label": field.label,
                    "currency": settings.CURRENCY,
                }

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and self._errors is not None:
            for name in READ_ONLY_FIELDS.intersection(self.unknown_fields):
                self._errors[name] = self.error_class([str(READ_ONLY_FIELD)])

    @classmethod
    def for_page(cls, data: Any = None, *, token: Token | None = None) -> TokenForm:
        """The form as the pages show it: served models as check boxes, groups suggested."""
        offered = served_model_names()
        # A model the token already allows stays visible, so an edit never drops it silently.
        known = set(offered)
        offered.extend(
            name for name in (token.allowed_models if token else []) if name not in known
        )
        form = cls(data, token=token, offered_models=offered)
        form.groups = groups_in_use(with_default=True)
        return form

    def clean_models(self) -> list[str]:
        models: list[str] = self.cleaned_data["models"]
        if self.offered_models is not None:
            offered = set(self.offered_models)
            for name in models:
                if name not in offered:
                    raise ValidationError(
                        forms.ChoiceField.default_error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": name[:ECHO_LENGTH]},
                    )
        return models


def initial_for(token: Token) -> dict[str, Any]:
    """A token's values as the edit form shows them."""
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
        "rpm_limit": token.rpm_limit,
        "tpm_limit": token.tpm_limit,
        # The decimal string ("12.5"), or empty for unlimited.
        "quota_limit": format_money(token.quota_limit),
        "daily_budget": format_money(token.daily_budget),
        "monthly_budget": format_money(token.monthly_budget),
    }


class AdminKeyForm(EntityForm):
    name = CheckedField(
        label=_("Name"),
        check=_name,
        # Blank text is the check's to refuse: "Must be a non-empty string.", as ever.
        missing=(),
        help_text=_("What the key is for, e.g. “deploy script”."),
        widget=forms.TextInput(attrs={"maxlength": MAX_NAME, "autocomplete": "off"}),
    )
