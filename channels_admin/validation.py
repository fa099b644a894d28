"""What a valid channel is: one cleaning function shared by the pages, the JSON API and scripts.

Every check here is linear in the input and every list and string has a cap, so no admin input
costs more than a moment to validate, and nothing reaches the database that it would refuse
(PostgreSQL rejects NUL characters and over-long values with an error, not a message).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from channels_admin.models import Channel, ChannelStatus, ChannelType
from core.crypto import encrypt_secret, mask_secret

CHANNEL_FIELDS = (
    "name",
    "type",
    "base_url",
    "key",
    "models",
    "groups",
    "weight",
    "priority",
    "status",
    "model_mapping",
    "test_model",
)

# Caps. Generous for real upstreams (the largest public model lists hold a few hundred
# models), small enough that validating, storing and routing stay cheap.
MAX_NAME_LENGTH = 100  # Channel.name
MAX_BASE_URL_LENGTH = 500  # Channel.base_url
MAX_KEY_LENGTH = 4096
MAX_MODELS = 2000
MAX_MODEL_NAME_LENGTH = 200  # also Channel.test_model
MAX_GROUPS = 100
MAX_GROUP_NAME_LENGTH = 64  # a token's group is at most this long
MAX_MAPPING_ENTRIES = 2000
# Per-entry problems listed for one mapping; the rest are counted, not spelled out.
MAX_MAPPING_PROBLEMS = 10
# Names shown when a mapping cycle is reported.
MAX_CYCLE_NAMES = 12

_url_validator = URLValidator(schemes=["http", "https"])
# ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")


class ChannelErrors:
    """Collects one list of messages per field, then raises them together."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _is_control(c: str) -> bool:
    return ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) <= 0xDFFF


def has_control_characters(text: str) -> bool:
    """C0/C1 controls (NUL included) and lone surrogates: never part of a name, key or URL."""
    return any(_is_control(c) for c in text)


def printable(text: str) -> str:
    """`text` with each control character or lone surrogate replaced, safe to show or store."""
    return "".join("\N{REPLACEMENT CHARACTER}" if _is_control(c) else c for c in text)


def _text_problem(text: str, maximum: int) -> str | None:
    if has_control_characters(text):
        return _("Cannot contain control characters.")
    if len(text) > maximum:
        return _("At most %(maximum)s characters.") % {"maximum": maximum}
    return None


def clean_base_url(value: Any) -> tuple[str | None, str | None]:
    """(the URL as stored, None) or (None, why it is refused)."""
    if not isinstance(value, str):
        return None, _("Must be a URL.")
    url = value.strip().rstrip("/")
    if len(url) > MAX_BASE_URL_LENGTH:
        return None, _("At most %(maximum)s characters.") % {"maximum": MAX_BASE_URL_LENGTH}
    if not url.lower().startswith(("http://", "https://")):
        return None, _("Enter an http:// or https:// URL.")
    if has_control_characters(url) or any(c.isspace() for c in url):
        return None, _("The address cannot contain spaces or control characters.")
    # The key goes in its own field: credentials in the URL would show in every list.
    if "@" in urlsplit(url).netloc:
        return None, _(
            "The address cannot hold a user name or password (user:pass@): "
            "put the credential in the API key field."
        )
    if "?" in url:
        return None, _("The address cannot have a query (?…): give the base URL only.")
    if "#" in url:
        return None, _("The address cannot have a fragment (#…): give the base URL only.")
    try:
        _url_validator(url)
    except ValidationError:
        return None, _("Enter an http:// or https:// URL.")
    return url, None


def clean_key(value: Any) -> tuple[str | None, str | None]:
    """(the key, None) or (None, why it is refused). Keys travel in an HTTP header: ASCII only."""
    if not isinstance(value, str) or not value.strip():
        return None, _("Must be a non-empty key without spaces.")
    key = value.strip()
    if any(c.isspace() for c in key):
        return None, _("Must be a non-empty key without spaces.")
    if not all(32 < ord(c) < 127 for c in key):
        return None, _("The key can only hold printable ASCII characters.")
    if len(key) > MAX_KEY_LENGTH:
        return None, _("At most %(maximum)s characters.") % {"maximum": MAX_KEY_LENGTH}
    return key, None


def _clean_string_list(
    value: Any, field: str, errors: ChannelErrors, *, most: int, longest: int, too_many: str
) -> list[str] | None:
    """`too_many`: the message for a list past `most`, with %(most)s and %(count)s."""
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.add(field, _("Must be a list of strings."))
        return None
    # A dict keeps the first-seen order and makes each repeat check O(1).
    cleaned = list(dict.fromkeys(item.strip() for item in value if item.strip()))
    if not cleaned:
        errors.add(field, _("At least one is required."))
        return None
    if len(cleaned) > most:
        errors.add(field, too_many % {"most": most, "count": len(cleaned)})
        return None
    for item in cleaned:
        if has_control_characters(item):
            errors.add(field, _("Names cannot contain control characters."))
            return None
        if len(item) > longest:
            errors.add(
                field,
                _("“%(name)s…” is longer than %(longest)s characters.")
                % {"name": printable(item[:40]), "longest": longest},
            )
            return None
    return cleaned


def _clean_int(value: Any, field: str, errors: ChannelErrors, *, minimum: int | None) -> int | None:
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, _("Must be a whole number."))
        return None
    if minimum is not None and value < minimum:
        errors.add(field, _("Must be at least %(minimum)s.") % {"minimum": minimum})
        return None
    if abs(value) > 2**31 - 1:
        errors.add(field, _("Is too large."))
        return None
    return value


def _mapping_entry_problem(requested: str, upstream: Any) -> str | None:
    shown = printable(requested[:40])
    if not isinstance(upstream, str):
        return _("“%(name)s” must map to a string.") % {"name": shown}
    if not requested.strip() or not upstream.strip():
        return _("Names in a mapping cannot be empty.")
    if requested != requested.strip() or upstream != upstream.strip():
        return _("“%(name)s”: names cannot start or end with spaces.") % {"name": shown.strip()}
    if has_control_characters(requested) or has_control_characters(upstream):
        return _("“%(name)s”: names cannot contain control characters.") % {"name": shown}
    if len(requested) > MAX_MODEL_NAME_LENGTH or len(upstream) > MAX_MODEL_NAME_LENGTH:
        return _("“%(name)s…”: names are at most %(longest)s characters.") % {
            "name": shown,
            "longest": MAX_MODEL_NAME_LENGTH,
        }
    return None


def _mapping_cycle(mapping: dict[str, str]) -> list[str] | None:
    """The first cycle found, as the names walked from its start; linear in the mapping's size.

    Each name maps to at most one other, so every walk either ends at a name already known to
    end, or runs into itself. Every name is walked once.
    """
    finished: set[str] = set()
    for start in mapping:
        if start in finished:
            continue
        path: list[str] = []
        on_path: dict[str, int] = {}
        current = start
        while current in mapping and current not in finished:
            if current in on_path:
                return [*path, current]
            on_path[current] = len(path)
            path.append(current)
            current = mapping[current]
        finished.update(path)
    return None


def mapping_errors(mapping: Any) -> list[str]:
    """Every problem with a model mapping, in words an admin can act on."""
    if not isinstance(mapping, dict):
        return [_("Must be a JSON object of requested name to upstream name.")]
    if len(mapping) > MAX_MAPPING_ENTRIES:
        return [
            _("At most %(most)s mapped names per channel (got %(count)s).")
            % {"most": MAX_MAPPING_ENTRIES, "count": len(mapping)}
        ]
    problems: list[str] = []
    bad = 0
    for requested, upstream in mapping.items():
        problem = _mapping_entry_problem(requested, upstream)
        if problem is None:
            continue
        bad += 1
        if len(problems) < MAX_MAPPING_PROBLEMS:
            problems.append(problem)
    if bad > len(problems):
        problems.append(
            _("… and %(count)s more problems in the mapping.") % {"count": bad - len(problems)}
        )
    if problems:
        return problems
    cycle = _mapping_cycle(mapping)
    if cycle is not None:
        names = cycle if len(cycle) <= MAX_CYCLE_NAMES else [*cycle[:MAX_CYCLE_NAMES], "…"]
        return [_("The mapping has a cycle: %(chain)s.") % {"chain": " → ".join(names)}]
    return []


def _needs_key_again(channel: Channel, data: dict[str, Any], cleaned: dict[str, Any]) -> bool:
    """A stored key is only ever sent where it was entered for: a new address needs it again."""
    if "key_encrypted" in cleaned or data.get("key") not in (None, ""):
        return False
    moved = "base_url" in cleaned and cleaned["base_url"] != channel.base_url
    retyped = "type" in cleaned and cleaned["type"] != channel.type
    return moved or retyped


def clean_channel_data(
    data: dict[str, Any], *, partial: bool, channel: Channel | None = None
) -> dict[str, Any]:
    """Validate API/form input; returns model attributes. Raises ValidationError per field.

    With `channel` (a change to it): a changed address or type without a new key is refused.
    """
    errors = ChannelErrors()
    unknown = sorted(set(data) - set(CHANNEL_FIELDS))
    for field in unknown:
        errors.add(field[:100], _("Unknown field."))
    if not partial:
        for field in ("name", "base_url", "key", "models"):
            if data.get(field) in (None, "", []):
                errors.add(field, _("This field is required."))
    cleaned: dict[str, Any] = {}

    if "name" in data and "name" not in errors.by_field:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            errors.add("name", _("Must be a non-empty string."))
        elif problem := _text_problem(name.strip(), MAX_NAME_LENGTH):
            errors.add("name", problem)
        else:
            cleaned["name"] = name.strip()

    if "type" in data:
        if data["type"] not in ChannelType.values:
            errors.add(
                "type",
                _("Unknown type. Choose one of: %(choices)s.")
                % {"choices": ", ".join(ChannelType.values)},
            )
        else:
            cleaned["type"] = data["type"]

    if "base_url" in data and "base_url" not in errors.by_field:
        url, problem = clean_base_url(data["base_url"])
        if problem is not None:
            errors.add("base_url", problem)
        else:
            cleaned["base_url"] = url

    if "key" in data and "key" not in errors.by_field:
        key, problem = clean_key(data["key"])
        if key is None:
            errors.add("key", problem or "")
        else:
            cleaned["key_encrypted"] = encrypt_secret(key)
            cleaned["key_mask"] = mask_secret(key)

    if "models" in data and "models" not in errors.by_field:
        models = _clean_string_list(
            data["models"],
            "models",
            errors,
            most=MAX_MODELS,
            longest=MAX_MODEL_NAME_LENGTH,
            too_many=_("At most %(most)s models per channel (got %(count)s)."),
        )
        if models is not None:
            cleaned["model_names"] = models

    if "groups" in data:
        groups = _clean_string_list(
            data["groups"],
            "groups",
            errors,
            most=MAX_GROUPS,
            longest=MAX_GROUP_NAME_LENGTH,
            too_many=_("At most %(most)s groups per channel (got %(count)s)."),
        )
        if groups is not None:
            cleaned["groups"] = groups

    if "weight" in data:
        weight = _clean_int(data["weight"], "weight", errors, minimum=0)
        if weight is not None:
            cleaned["weight"] = weight

    if "priority" in data:
        priority = _clean_int(data["priority"], "priority", errors, minimum=None)
        if priority is not None:
            cleaned["priority"] = priority

    if "status" in data:
        if data["status"] not in ChannelStatus.values:
            errors.add(
                "status",
                _("Unknown status. Choose one of: %(choices)s.")
                % {"choices": ", ".join(ChannelStatus.values)},
            )
        else:
            cleaned["status"] = data["status"]

    if "model_mapping" in data:
        mapping = {} if data["model_mapping"] is None else data["model_mapping"]
        problems = mapping_errors(mapping)
        for problem in problems:
            errors.add("model_mapping", problem)
        if not problems:
            cleaned["model_mapping"] = mapping

    if "test_model" in data:
        test_model = data["test_model"] or ""
        if not isinstance(test_model, str):
            errors.add("test_model", _("Must be a string."))
        elif problem := _text_problem(test_model.strip(), MAX_MODEL_NAME_LENGTH):
            errors.add("test_model", problem)
        else:
            cleaned["test_model"] = test_model.strip()

    if channel is not None and _needs_key_again(channel, data, cleaned):
        errors.add(
            "key",
            _(
                "The address or type changed: enter the API key again. The stored key is "
                "only ever sent to the address it was entered for."
            ),
        )

    errors.raise_if_any()
    return cleaned
