"""ChannelForm: the one place where channel input is validated, for the pages and the JSON API.

The add/edit page binds it to its POST; the JSON API and the list's inline edits bind it to
values given field by field (`ChannelForm.from_json`, core.forms.EntityForm's: unknown names
refused, a create takes the defaults, a change only what it names). Either way `cleaned_data`
holds clean values, named as channel_create/channel_update take them, and nothing validates
them again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Self, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels_admin.mapping_editor import MappingEditor
from channels_admin.models import Channel, ChannelStatus, ChannelType, KeyMode
from channels_admin.validation import (
    MAX_API_VERSION_LENGTH,
    MAX_BASE_URL_LENGTH,
    MAX_GROUP_NAME_LENGTH,
    MAX_GROUPS,
    MAX_MODEL_NAME_LENGTH,
    MAX_MODELS,
    MAX_NAME_LENGTH,
    MAX_WHOLE_NUMBER,
    base_url_type_problem,
    clean_api_version,
    clean_base_url,
    clean_key,
    clean_keys,
    clean_timeout,
    has_control_characters,
    mapping_errors,
    name_list,
    name_list_problem,
    split_names,
    whole_number,
)
from core.forms import CheckedField, EntityForm

# The page's "Fetch models" offers, ticked to be added to the models on save.
TICKED_MODELS = "fetched_models"
# Per-channel timeouts and the settings that give each one's default.
TIMEOUT_FIELDS = {
    "connect_timeout": "CONNECT_TIMEOUT",
    "first_byte_timeout": "FIRST_BYTE_TIMEOUT",
    "stream_idle_timeout": "STREAM_IDLE_TIMEOUT",
    "total_timeout": "TOTAL_TIMEOUT",
}


def timeout_field(label: StrPromise, help_text: StrPromise) -> CheckedField:
    return CheckedField(
        check=clean_timeout,
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.NumberInput(
            attrs={"class": "input-number", "min": "0", "step": "any", "inputmode": "decimal"}
        ),
    )


class TextField(forms.CharField):
    """A string, trimmed. A JSON number or list is refused, not turned into text."""

    default_error_messages = {
        "invalid": _("Must be a string."),
        "max_length": _("At most %(limit_value)s characters."),
    }

    def to_python(self, value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        text = value.strip()
        if has_control_characters(text):
            raise ValidationError(_("Cannot contain control characters."), code="control")
        return text


Rule = Callable[[Any], tuple[str | None, str | None]]


class RuleField(forms.CharField):
    """Text cleaned by one of channels_admin.validation's rules: `rule(value)` gives (the clean
    value, None) or (None, why it is refused). Blank is "none given": ""."""

    def __init__(self, *, rule: Rule, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule

    def to_python(self, value: Any) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            return ""
        clean, problem = self.rule(value)
        if clean is None:
            raise ValidationError(problem or "", code="invalid")
        return clean


class WholeNumberField(forms.IntegerField):
    """An integer, or its plain ASCII digits; 2.0, true, "1_000" and "²" are refused."""

    default_error_messages = {
        "invalid": _("Must be a whole number."),
        "min_value": _("Must be at least %(limit_value)s."),
        "max_value": _("Must be at most %(limit_value)s."),
    }
    widget = forms.NumberInput(attrs={"class": "input-number"})

    def __init__(self, *, max_value: int = MAX_WHOLE_NUMBER, **kwargs: Any) -> None:
        # Capped by default at what every database's integer column holds.
        super().__init__(max_value=max_value, **kwargs)

    def to_python(self, value: Any) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number = whole_number(value)
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class NameListField(forms.Field):
    """Names as a JSON list of strings or as text split at commas and new lines; capped."""

    def __init__(
        self, *, most: int, longest: int, too_many: str | StrPromise, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.most, self.longest, self.too_many = most, longest, too_many

    def to_python(self, value: Any) -> list[str]:
        return name_list(value)

    def validate(self, value: Any) -> None:
        super().validate(value)
        problem = name_list_problem(
            value, most=self.most, longest=self.longest, too_many=str(self.too_many)
        )
        if problem is not None:
            raise ValidationError(problem, code="invalid")


class KnownChoiceField(forms.ChoiceField):
    """A choice whose refusal names the values that are allowed: `refusal` says it, with
    %(choices)s where they go."""

    def __init__(self, *, refusal: str | StrPromise, **kwargs: Any) -> None:
        error_messages: dict[str, Any] = {"invalid_choice": refusal}
        super().__init__(error_messages=error_messages, **kwargs)

    def validate(self, value: Any) -> None:
        if value in self.empty_values or self.valid_value(value):
            super().validate(value)
            return
        choices = cast("Iterable[tuple[object, object]]", self.choices)
        allowed = ", ".join(str(choice) for choice, _label in choices)
        raise ValidationError(
            self.error_messages["invalid_choice"] % {"choices": allowed}, code="invalid_choice"
        )


def key_list(value: Any) -> list[str]:
    """Keys from a JSON list or the page's text (one per line); blank is none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    keys, problem = clean_keys(value)
    if keys is None:
        raise ValueError(problem or "")
    return keys


class SecretTextarea(forms.Textarea):
    """A box for keys that never renders what was typed: keys are not sent back to the
    browser, not even the ones it just posted."""

    def format_value(self, value: Any) -> None:
        return None


def keys_widget(placeholder: str) -> SecretTextarea:
    return SecretTextarea(
        attrs={
            "rows": 3,
            "spellcheck": "false",
            "autocomplete": "off",
            "autocapitalize": "off",
            "placeholder": placeholder,
            "class": "ch-keys-input",
        }
    )


class ModelsTextarea(forms.Textarea):
    """The models box, plus the "Fetch models" offers ticked beside it on the page."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        value = data.get(name)
        ticked = data.getlist(TICKED_MODELS) if isinstance(data, MultiValueDict) else []
        if not ticked:
            return value
        return "\n".join([value or "", *ticked])

    def use_required_attribute(self, initial: Any) -> bool:
        # channels.js hides the box behind a tag input: a browser could not point at it.
        return False


class ChannelForm(EntityForm):
    name = TextField(
        label=_("Name"),
        max_length=MAX_NAME_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    type = KnownChoiceField(
        label=_("Type"),
        choices=ChannelType.choices,
        initial=ChannelType.OPENAI,
        refusal=_("Unknown type. Choose one of: %(choices)s."),
    )
    # Stored without a trailing slash (see clean_base_url).
    base_url = RuleField(
        rule=clean_base_url,
        label=_("API address"),
        help_text=_(
            "The base URL the provider's SDK takes: https://api.example.net/v1 for an "
            "OpenAI-compatible service, https://api.anthropic.com for Anthropic, "
            "https://<resource>.openai.azure.com for Azure OpenAI."
        ),
        widget=forms.URLInput(
            attrs={
                "placeholder": "https://api.example.net/v1",
                "spellcheck": "false",
                "maxlength": MAX_BASE_URL_LENGTH,
            }
        ),
    )
    api_version = RuleField(
        rule=clean_api_version,
        label=_("API version"),
        required=False,
        help_text=_("Azure OpenAI only: the api-version sent with every request, e.g. 2024-10-21."),
        widget=forms.TextInput(
            attrs={
                "spellcheck": "false",
                "placeholder": "2024-10-21",
                "maxlength": MAX_API_VERSION_LENGTH,
            }
        ),
    )
    # One key (the API's `key`). Blank means "none given": on a change, keep the stored keys.
    key = RuleField(
        rule=clean_key,
        label=_("API key"),
        required=False,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
        ),
    )
    # Many keys: a JSON list, or the add page's box with one per line. Replaces all on a change.
    keys = CheckedField(
        check=key_list,
        label=_("Keys, one per line"),
        required=False,
        help_text=_(
            "Each request uses one of them. Write-only: after saving keys are only ever "
            "shown masked."
        ),
        widget=keys_widget("sk-…"),
    )
    # The edit page's box: keys added to the stored ones (the page only, never the API).
    add_keys = CheckedField(
        check=key_list,
        label=_("Add keys, one per line"),
        required=False,
        help_text=_(
            "Added to the keys above. A changed address or type needs the keys again: "
            "then the keys typed here replace all the stored ones."
        ),
        widget=keys_widget("sk-…"),
    )
    key_mode = KnownChoiceField(
        label=_("Key use"),
        choices=KeyMode.choices,
        initial=KeyMode.RANDOM,
        refusal=_("Unknown key mode. Choose one of: %(choices)s."),
        help_text=_("With several keys: which one each request uses."),
    )
    models = NameListField(
        label=_("Models"),
        most=MAX_MODELS,
        longest=MAX_MODEL_NAME_LENGTH,
        too_many=_("At most %(most)s models per channel (got %(count)s)."),
        help_text=_("Type a name and press Enter, or paste several separated by commas."),
        widget=ModelsTextarea(
            attrs={
                "rows": 3,
                "spellcheck": "false",
                # channels.js turns this into a tag list; these are its words.
                "data-tag-input": "",
                "data-placeholder": _("Type a model name, then Enter"),
                "data-remove-label": _("Remove"),
            }
        ),
    )
    groups = NameListField(
        label=_("Groups"),
        most=MAX_GROUPS,
        longest=MAX_GROUP_NAME_LENGTH,
        too_many=_("At most %(most)s groups per channel (got %(count)s)."),
        initial="default",
        help_text=_("Separated by commas. Tokens of these groups may use this channel."),
        error_messages={"required": _("At least one is required.")},
    )
    weight = WholeNumberField(
        label=_("Weight"),
        min_value=0,
        initial=1,
        help_text=_("Shares traffic between channels of the same priority."),
    )
    priority = WholeNumberField(
        label=_("Priority"),
        min_value=-MAX_WHOLE_NUMBER,
        initial=0,
        help_text=_("Higher priorities are tried first."),
    )
    status = KnownChoiceField(
        label=_("Status"),
        choices=ChannelStatus.choices,
        initial=ChannelStatus.ENABLED,
        refusal=_("Unknown status. Choose one of: %(choices)s."),
    )
    test_model = TextField(
        label=_("Test model"),
        required=False,
        max_length=MAX_MODEL_NAME_LENGTH,
        help_text=_("The model the built-in test calls; blank means the first model."),
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    # A JSON object. On the page the mapping editor supplies it (see clean_model_mapping).
    model_mapping = forms.Field(label=_("Model mapping"), required=False, widget=forms.Textarea)
    # Seconds; blank (null in the API) uses the gateway's default, shown as the placeholder.
    connect_timeout = timeout_field(
        _("Connect timeout"), _("Seconds to open the connection to the upstream.")
    )
    first_byte_timeout = timeout_field(
        _("First byte timeout"),
        _("Seconds to wait for the answer to start; then the next channel is tried."),
    )
    stream_idle_timeout = timeout_field(
        _("Stream idle timeout"),
        _("Seconds a started stream may go without a chunk before it is ended with an error."),
    )
    total_timeout = timeout_field(
        _("Total timeout"), _("Seconds one request to this channel may take in all.")
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        channel: Channel | None = None,
        plain_values: bool = False,
        redisplay: QueryDict | None = None,
        fetched: list[str] | None = None,
    ) -> None:
        """`data`: the page's POST; `plain_values`: values given field by field (from_json).

        `redisplay`: show posted values again without validating them (an editor action).
        """
        self.channel = channel
        source = redisplay if data is None or plain_values else data
        super().__init__(data, initial=self._initial(source, channel))

        if channel is None or plain_values:
            # Adding keys to stored ones is the edit page's; the API replaces with `keys`.
            self.fields.pop("add_keys", None)
        if channel is None and not plain_values:
            # The add page's box must hold a key (a red * beside it; ChannelForm checks it).
            self.fields["keys"].widget.attrs["required"] = True

        # The page's mapping editor; values given field by field carry the mapping itself.
        self.plain_values = plain_values
        if plain_values:
            self.mapping = MappingEditor()
        elif isinstance(source, QueryDict):
            self.mapping = MappingEditor.from_post(source)
        else:
            self.mapping = MappingEditor.from_mapping(channel.model_mapping if channel else {})
        for name, setting in TIMEOUT_FIELDS.items():
            default = getattr(settings, setting)
            self.fields[name].widget.attrs["placeholder"] = f"{default:g}"
        self.offered_models: list[str] = []
        self.checked_models: list[str] = []
        if not plain_values:
            self._restrict_statuses()
            self.offered_models = (
                list(fetched) if fetched is not None else posted_list(source, "offered_models")
            )
            self.checked_models = posted_list(source, TICKED_MODELS)

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        *,
        partial: bool,
        channel: Channel | None = None,
        **kwargs: Any,
    ) -> Self:
        """Values given field by field, as the JSON API sends them (lists, numbers, objects).

        On a change an absent key is a blank one: the stored key stays, so the key rule below
        still sees it. A name longer than any field is cut before it is echoed as unknown.
        """
        values = {name[:100]: value for name, value in data.items()}
        if channel is not None and "keys" not in values:
            values.setdefault("key", "")
        return super().from_json(
            values, partial=partial, channel=channel, plain_values=True, **kwargs
        )

    @staticmethod
    def _initial(source: Mapping[str, Any] | None, channel: Channel | None) -> dict[str, Any]:
        if isinstance(source, QueryDict):
            initial = {name: source.get(name) for name in ChannelForm.base_fields if name in source}
            for secret in SECRET_FIELDS:
                initial.pop(secret, None)
            return initial
        if channel is not None:
            return {
                "name": channel.name,
                "type": channel.type,
                "base_url": channel.display_url,
                "api_version": channel.api_version,
                "key_mode": channel.key_mode,
                "models": "\n".join(channel.model_names),
                "groups": ", ".join(channel.groups),
                "weight": channel.weight,
                "priority": channel.priority,
                "status": channel.status,
                "test_model": channel.test_model,
                **{name: getattr(channel, name) for name in TIMEOUT_FIELDS},
            }
        return {}

    def _restrict_statuses(self) -> None:
        # By hand an admin enables or disables; auto-disabled is kept, never chosen.
        statuses = [ChannelStatus.ENABLED, ChannelStatus.DISABLED]
        if self.channel is not None and self.channel.status == ChannelStatus.AUTO_DISABLED:
            statuses.append(ChannelStatus.AUTO_DISABLED)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s.value, s.label) for s in statuses]

    def entered_models(self) -> list[str]:
        return split_names(self["models"].value() or "")

    def clean_model_mapping(self) -> dict[str, Any]:
        if not self.plain_values:
            mapping = self.mapping.parse()
            if mapping is None:
                problems, self.mapping.errors = self.mapping.errors, []
                raise ValidationError(problems)
        else:
            given = self.cleaned_data.get("model_mapping")
            mapping = {} if given is None else given
        problems = mapping_errors(mapping)
        if problems:
            raise ValidationError(problems)
        return mapping

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self._clean_keys(cleaned)
        self._clean_type_rules(cleaned)
        return cleaned

    def _key_error_field(self) -> str:
        """Where a missing key is reported: the box the page shows, or the API's name."""
        if not self.plain_values:
            return "keys" if self.channel is None else "add_keys"
        return "keys" if "keys" in self.data else "key"

    def _clean_keys(self, cleaned: dict[str, Any]) -> None:
        if {"key", "keys", "add_keys"} & set(self.errors):
            return
        given = list(cleaned.get("keys") or [])
        if cleaned.get("key"):
            if given:
                self.add_error("keys", gettext("Give either key or keys, not both."))
                return
            given = [cleaned["key"]]
        channel = self.channel
        if channel is None:
            if not given:
                self.add_error(self._key_error_field(), gettext("Enter at least one key."))
            return
        moved = "base_url" in cleaned and cleaned["base_url"] != channel.base_url
        retyped = "type" in cleaned and cleaned["type"] != channel.type
        if not (moved or retyped) or given:
            return
        if cleaned.get("add_keys"):
            # For a new address the typed keys are the channel's keys: the stored ones were
            # entered for the old one.
            cleaned["keys"], cleaned["add_keys"] = cleaned["add_keys"], []
            return
        self.add_error(
            self._key_error_field(),
            gettext(
                "The address or type changed: enter the API key again. The stored keys are "
                "only ever sent to the address they were entered for."
            ),
        )

    def _clean_type_rules(self, cleaned: dict[str, Any]) -> None:
        """Each type's own rules, on the values after the change (a PATCH may name one)."""
        if {"type", "base_url", "api_version"} & set(self.errors):
            return
        channel = self.channel
        type_ = cleaned.get("type", channel.type if channel else ChannelType.OPENAI)
        url = cleaned.get("base_url", channel.base_url if channel else "")
        if "api_version" in cleaned:
            version = cleaned["api_version"]
        elif channel is not None and type_ != ChannelType.AZURE and channel.api_version:
            # Leaving Azure drops its API version with it.
            version = cleaned["api_version"] = ""
        else:
            version = channel.api_version if channel else ""
        version_at = "api_version" if "api_version" in self.fields else "type"
        if type_ == ChannelType.AZURE and not version:
            self.add_error(version_at, gettext("Azure OpenAI needs an API version."))
        elif type_ != ChannelType.AZURE and version:
            self.add_error(version_at, gettext("Only Azure OpenAI channels take an API version."))
        problem = base_url_type_problem(url, str(type_)) if url else None
        if problem is not None:
            self.add_error("base_url" if "base_url" in self.fields else "type", problem)

    def timeout_fields(self) -> list[forms.BoundField]:
        """The page's "Timeouts" fieldset."""
        return [self[name] for name in TIMEOUT_FIELDS if name in self.fields]

    @property
    def mapping_errors(self) -> list[str]:
        """Problems with the mapping as a whole; a row's own problems are shown on the row."""
        field_errors = [str(error) for error in self.errors.get("model_mapping", [])]
        return [*self.mapping.errors, *field_errors]


# Fields whose values are never shown again on a page.
SECRET_FIELDS = ("key", "keys", "add_keys")


def posted_list(data: Mapping[str, Any] | None, name: str) -> list[str]:
    """The values a page posted under `name` (checkboxes, hidden inputs), trimmed, each once."""
    if not isinstance(data, QueryDict):
        return []
    return list(dict.fromkeys(v for v in (item.strip() for item in data.getlist(name)) if v))
