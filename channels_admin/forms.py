"""The add/edit channel form and its model-mapping editor.

The form only gathers input; channels_admin.services validates and saves it, so the pages, the
JSON API and the tests all agree on what a valid channel is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels_admin.models import Channel, ChannelStatus, ChannelType
from channels_admin.validation import (
    MAX_BASE_URL_LENGTH,
    MAX_MODEL_NAME_LENGTH,
    MAX_NAME_LENGTH,
    clean_channel_data,
)

MAPPING_MODES = ("rows", "json")
_SPLIT = re.compile(r"[,\n\r]+")


def split_names(text: str) -> list[str]:
    """Names separated by commas or new lines, trimmed, blanks and repeats dropped."""
    # A dict keeps the order and makes each repeat check O(1): 30,000 names stay cheap.
    stripped = (part.strip() for part in _SPLIT.split(text or ""))
    return list(dict.fromkeys(name for name in stripped if name))


class _Pairs(list):
    """A JSON object read as its (key, value) pairs, so repeated keys are not lost."""


def _parse_json_pairs(text: str) -> tuple[list[tuple[str, Any]] | None, str | None]:
    if not text.strip():
        return [], None
    try:
        parsed = json.loads(text, object_pairs_hook=_Pairs)
    except RecursionError:
        return None, gettext("The JSON is nested too deeply: a mapping is one flat object.")
    except json.JSONDecodeError as exc:
        return None, gettext("Not valid JSON: %(error)s (line %(line)s, column %(column)s).") % {
            "error": exc.msg,
            "line": exc.lineno,
            "column": exc.colno,
        }
    if not isinstance(parsed, _Pairs):
        return None, gettext("Must be a JSON object of requested name to upstream name.")
    return list(parsed), None


def _dump_pairs(pairs: list[tuple[str, Any]]) -> str:
    # Written by hand, not json.dumps(dict): a repeated name must survive the round trip.
    if not pairs:
        return "{}"
    lines = [
        f"  {json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}"
        for key, value in pairs
    ]
    return "{\n" + ",\n".join(lines) + "\n}"


@dataclass
class MappingRow:
    requested: str
    upstream: str
    errors: list[str] = field(default_factory=list)


@dataclass
class MappingEditor:
    """Rows of "requested name → upstream name", or the same mapping as raw JSON."""

    mode: str = "rows"
    rows: list[MappingRow] = field(default_factory=list)
    json_text: str = "{}"
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any]) -> MappingEditor:
        pairs = list(mapping.items())
        rows = [MappingRow(str(key), str(value)) for key, value in pairs]
        return cls(mode="rows", rows=[*rows, MappingRow("", "")], json_text=_dump_pairs(pairs))

    @classmethod
    def from_post(cls, data: QueryDict) -> MappingEditor:
        mode = data.get("mapping_mode", "rows")
        rows = [
            MappingRow(requested, upstream)
            for requested, upstream in zip_longest(
                data.getlist("mapping_from"), data.getlist("mapping_to"), fillvalue=""
            )
        ]
        return cls(
            mode=mode if mode in MAPPING_MODES else "rows",
            rows=rows or [MappingRow("", "")],
            json_text=data.get("model_mapping", ""),
        )

    def _row_pairs(self) -> list[tuple[str, str]]:
        return [
            (row.requested.strip(), row.upstream.strip())
            for row in self.rows
            if row.requested.strip() or row.upstream.strip()
        ]

    def apply(self, action: str) -> None:
        """Add or remove a row, or switch between rows and JSON; nothing is validated yet."""
        if action == "mapping-add":
            self.rows.append(MappingRow("", ""))
        elif action.startswith("mapping-remove-"):
            index = action.removeprefix("mapping-remove-")
            if index.isdigit() and int(index) < len(self.rows):
                del self.rows[int(index)]
            if not self.rows:
                self.rows.append(MappingRow("", ""))
        elif action == "mapping-json" and self.mode == "rows":
            self.json_text = _dump_pairs(self._row_pairs())
            self.mode = "json"
        elif action == "mapping-rows" and self.mode == "json":
            pairs, error = _parse_json_pairs(self.json_text)
            if error is not None or pairs is None:
                self.errors.append(error or "")
                return
            if any(not isinstance(value, str) for _key, value in pairs):
                self.errors.append(gettext("Every upstream name must be a string."))
                return
            self.rows = [*(MappingRow(key, value) for key, value in pairs), MappingRow("", "")]
            self.mode = "rows"

    def clean(self) -> dict[str, Any] | None:
        """The mapping to save, or None with the problems recorded on the editor and its rows."""
        if self.mode == "json":
            pairs, error = _parse_json_pairs(self.json_text)
            if pairs is None:
                self.errors.append(error or "")
                return None
            seen: set[str] = set()
            repeated: list[str] = []
            for key, _value in pairs:
                if key in seen and key not in repeated:
                    repeated.append(key)
                seen.add(key)
            for key in repeated:
                self.errors.append(gettext("“%(name)s” is mapped more than once.") % {"name": key})
            return None if repeated else dict(pairs)

        mapping: dict[str, Any] = {}
        for row in self.rows:
            requested, upstream = row.requested.strip(), row.upstream.strip()
            row.requested, row.upstream = requested, upstream
            if not requested and not upstream:
                continue
            if not requested or not upstream:
                row.errors.append(gettext("Fill in both names, or remove the row."))
            elif requested in mapping:
                row.errors.append(
                    gettext("“%(name)s” is mapped more than once.") % {"name": requested}
                )
            else:
                mapping[requested] = upstream
        if any(row.errors for row in self.rows):
            self.errors.append(gettext("Correct the highlighted mapping rows."))
            return None
        return mapping


class ChannelForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": MAX_NAME_LENGTH, "autocomplete": "off"}),
    )
    type = forms.ChoiceField(label=_("Type"), choices=ChannelType.choices)
    base_url = forms.CharField(
        label=_("API address"),
        required=False,
        help_text=_("The upstream's OpenAI-compatible base URL, e.g. https://api.example.net/v1"),
        widget=forms.URLInput(
            attrs={
                "placeholder": "https://api.example.net/v1",
                "spellcheck": "false",
                "maxlength": MAX_BASE_URL_LENGTH,
            }
        ),
    )
    key = forms.CharField(
        label=_("API key"),
        required=False,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
        ),
    )
    models = forms.CharField(
        label=_("Models"),
        required=False,
        help_text=_("One per line or separated by commas."),
        widget=forms.Textarea(
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
    groups = forms.CharField(
        label=_("Groups"),
        required=False,
        initial="default",
        help_text=_("Separated by commas. Tokens of these groups may use this channel."),
    )
    weight = forms.CharField(
        label=_("Weight"),
        required=False,
        initial="1",
        help_text=_("Shares traffic between channels of the same priority."),
        widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
    )
    priority = forms.CharField(
        label=_("Priority"),
        required=False,
        initial="0",
        help_text=_("Higher priorities are tried first."),
        widget=forms.NumberInput(attrs={"step": 1}),
    )
    status = forms.ChoiceField(label=_("Status"))
    test_model = forms.CharField(
        label=_("Test model"),
        required=False,
        help_text=_("The model the built-in test calls; blank means the first model."),
        widget=forms.TextInput(attrs={"spellcheck": "false", "maxlength": MAX_MODEL_NAME_LENGTH}),
    )
    # The JSON side of the mapping editor; its rows side is read from mapping_from/mapping_to.
    model_mapping = forms.CharField(
        label=_("Model mapping"), required=False, strip=False, widget=forms.Textarea
    )

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        channel: Channel | None = None,
        redisplay: QueryDict | None = None,
        fetched: list[str] | None = None,
    ) -> None:
        """`redisplay`: show posted values again without validating them (an editor action)."""
        source = data if data is not None else redisplay
        if source is not None:
            initial = {name: source.get(name) for name in self.base_fields if name in source}
            initial.pop("key", None)
        elif channel is not None:
            initial = {
                "name": channel.name,
                "type": channel.type,
                "base_url": channel.display_url,
                "models": "\n".join(channel.model_names),
                "groups": ", ".join(channel.groups),
                "weight": channel.weight,
                "priority": channel.priority,
                "status": channel.status,
                "test_model": channel.test_model,
            }
        else:
            initial = {"type": ChannelType.OPENAI, "status": ChannelStatus.ENABLED}
        super().__init__(data, initial=initial)
        self.channel = channel
        self.payload: dict[str, Any] = {}

        statuses = [ChannelStatus.ENABLED, ChannelStatus.DISABLED]
        if channel is not None and channel.status == ChannelStatus.AUTO_DISABLED:
            statuses.append(ChannelStatus.AUTO_DISABLED)
        self.fields["status"].choices = [(s.value, s.label) for s in statuses]

        key_field = self.fields["key"]
        if channel is not None:
            key_field.help_text = _(
                "Stored as %(mask)s. Leave blank to keep it; type a new key to replace it. "
                "A changed address or type needs the key again."
            ) % {"mask": channel.masked_key}
        else:
            key_field.help_text = _("Write-only: after saving it is only ever shown masked.")
            key_field.widget.attrs["required"] = True
        for name in ("name", "base_url"):
            self.fields[name].widget.attrs["required"] = True

        self.mapping = (
            MappingEditor.from_post(source)
            if source is not None
            else MappingEditor.from_mapping(channel.model_mapping if channel else {})
        )
        self.offered_models = (
            list(fetched) if fetched is not None else split_list(source, "offered_models")
        )
        self.checked_models = split_list(source, "fetched_models")

    def entered_models(self) -> list[str]:
        return split_names(self["models"].value() or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        payload: dict[str, Any] = {
            "name": data.get("name", ""),
            "base_url": data.get("base_url", ""),
            "key": data.get("key", ""),
            "models": split_names(data.get("models", "")) + self.checked_models,
            "groups": split_names(data.get("groups", "")),
            "weight": data.get("weight", ""),
            "priority": data.get("priority", ""),
            "test_model": data.get("test_model", ""),
        }
        # A choice Django already rejected is reported once, by Django.
        for choice in ("type", "status"):
            if choice in data:
                payload[choice] = data[choice]
        mapping = self.mapping.clean()
        if mapping is None:
            self.add_error("model_mapping", list(self.mapping.errors))
            self.mapping.errors = []
        else:
            payload["model_mapping"] = mapping
        if self.channel is not None and not payload["key"]:
            del payload["key"]
        try:
            clean_channel_data(payload, partial=self.channel is not None, channel=self.channel)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        self.payload = payload
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        """Errors the save itself raised, beside their fields like the form's own."""
        for name, messages in exc.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)

    @property
    def mapping_errors(self) -> list[str]:
        """Problems with the mapping as a whole; a row's own problems are shown on the row."""
        # Validating first: it moves the editor's own problems onto the field.
        field_errors = list(self.errors.get("model_mapping", [])) if self.is_bound else []
        return [*self.mapping.errors, *field_errors]


def split_list(data: QueryDict | None, name: str) -> list[str]:
    if data is None:
        return []
    return list(dict.fromkeys(v for v in (item.strip() for item in data.getlist(name)) if v))
