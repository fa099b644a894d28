"""The page's model-mapping editor: rows of "requested name → upstream name", or raw JSON.

The editor turns what the page posts (rows or JSON text) into one mapping, and back. Its
buttons (add or remove a row, switch rows ⇄ JSON) change the editor only; whether a mapping
may be saved is decided by ChannelForm, as for the JSON API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext

MAPPING_MODES = ("rows", "json")


class _Pairs(list[tuple[str, Any]]):
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

    def parse(self) -> dict[str, Any] | None:
        """The mapping typed in, or None with the problems recorded on the editor and its rows.

        Only what the editor itself can tell (JSON syntax, repeats, half-empty rows); whether
        the mapping may be saved is the form's `model_mapping` check.
        """
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
