"""The checks behind each channel field: caps, addresses, keys, name lists and the mapping.

channels_admin.forms.ChannelForm calls these from its fields, and it alone validates a channel
(pages and JSON API alike); "Fetch models" reuses the address and key checks. Every check is
linear in the input and every list and string has a cap, so no admin input costs more than a
moment to validate, and nothing reaches the database that it would refuse (PostgreSQL rejects
NUL characters and over-long values with an error, not a message).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

# Caps. Generous for real upstreams (the largest public model lists hold a few hundred
# models), small enough that validating, storing and routing stay cheap.
MAX_NAME_LENGTH = 100  # Channel.name
MAX_BASE_URL_LENGTH = 500  # Channel.base_url
MAX_KEY_LENGTH = 4096
# Keys per channel: plenty for spreading load over one provider's accounts.
MAX_KEYS = 100
MAX_API_VERSION_LENGTH = 40  # Channel.api_version
MAX_MODELS = 2000
MAX_MODEL_NAME_LENGTH = 200  # also Channel.test_model
MAX_GROUPS = 100
MAX_GROUP_NAME_LENGTH = 64  # a token's group is at most this long
MAX_MAPPING_ENTRIES = 2000
# Weight and priority are stored in 32-bit integer columns.
MAX_WHOLE_NUMBER = 2**31 - 1
# The longest per-channel timeout, in seconds: a day. Longer is a typo, not a generation.
MAX_TIMEOUT_SECONDS = 86400
# Per-entry problems listed for one mapping; the rest are counted, not spelled out.
MAX_MAPPING_PROBLEMS = 10
# Names shown when a mapping cycle is reported.
MAX_CYCLE_NAMES = 12

_url_validator = URLValidator(schemes=["http", "https"])
# ASCII digits only: str.isdigit() also accepts "²", and int() "1_000" or "١٢".
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")
_SPLIT = re.compile(r"[,\n\r]+")
# A plain decimal number: "30", "2.5", ".5"; no exponent, sign, "_", "inf" or "nan".
# Azure's api-version: a date, maybe with a suffix ("2024-10-21", "2025-04-01-preview").
_API_VERSION = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(-[a-z0-9]{1,20})?")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{0,12})?|\.[0-9]{1,12}")


def _is_control(c: str) -> bool:
    return ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) <= 0xDFFF


def has_control_characters(text: str) -> bool:
    """C0/C1 controls (NUL included) and lone surrogates: never part of a name, key or URL."""
    return any(_is_control(c) for c in text)


def printable(text: str) -> str:
    """`text` with each control character or lone surrogate replaced, safe to show or store."""
    return "".join("\N{REPLACEMENT CHARACTER}" if _is_control(c) else c for c in text)


def whole_number(value: Any) -> int | None:
    """`value` as an int if it is one (or its plain ASCII digits), else None; never a bool."""
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


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


def clean_keys(value: Any) -> tuple[list[str] | None, str | None]:
    """(the keys, None) or (None, why they are refused), from a JSON list of strings or text
    with one key per line. Repeats are dropped; a refusal names the key by its position only,
    never by its value."""
    if isinstance(value, str):
        # One per line; a line with a space in it is refused, not split (a pasted
        # "Bearer sk-…" is a mistake to show, not two keys).
        items: list[Any] = [line for line in value.splitlines() if line.strip()]
    elif isinstance(value, list):
        items = value
    else:
        return None, _("Must be a list of keys.")
    if len(items) > MAX_KEYS:
        return None, _("At most %(most)s keys per channel (got %(count)s).") % {
            "most": MAX_KEYS,
            "count": len(items),
        }
    keys: dict[str, None] = {}
    for position, item in enumerate(items, start=1):
        key, problem = clean_key(item)
        if key is None:
            return None, _("Key %(position)s: %(problem)s") % {
                "position": position,
                "problem": problem,
            }
        keys[key] = None
    if not keys:
        return None, _("Enter at least one key.")
    return list(keys), None


def clean_api_version(value: Any) -> tuple[str | None, str | None]:
    """(Azure's api-version, None) or (None, why it is refused)."""
    if not isinstance(value, str):
        return None, _("Must be a string.")
    version = value.strip()
    if len(version) > MAX_API_VERSION_LENGTH or not _API_VERSION.fullmatch(version):
        return None, _("Enter an Azure OpenAI API version such as 2024-10-21.")
    return version, None


def base_url_type_problem(url: str, type_: str) -> str | None:
    """Why `url` (already clean) is not a base URL for a channel of `type_`, or None.

    Each type's base URL is what its SDK takes: the relay adds /v1/messages to an Anthropic
    one and /openai/deployments/… to an Azure one, so neither may carry those parts itself.
    """
    parts = urlsplit(url)
    path = parts.path.rstrip("/").lower()
    if type_ == "anthropic" and path.endswith("/v1"):
        return _("An Anthropic address ends before /v1, e.g. https://api.anthropic.com.")
    if type_ == "azure":
        if path.endswith("/v1") or "/openai" in path:
            return _(
                "An Azure OpenAI address is the resource endpoint only, "
                "e.g. https://my-resource.openai.azure.com."
            )
        loopback = (parts.hostname or "") in {h.strip("[]") for h in _LOOPBACK_HOSTS}
        if parts.scheme != "https" and not loopback:
            return _("An Azure OpenAI address must use https://.")
    return None


def split_names(text: str) -> list[str]:
    """Names separated by commas or new lines, trimmed, blanks and repeats dropped."""
    # A dict keeps the order and makes each repeat check O(1): 30,000 names stay cheap.
    stripped = (part.strip() for part in _SPLIT.split(text or ""))
    return list(dict.fromkeys(name for name in stripped if name))


def name_list(value: Any) -> list[str]:
    """A list of names from a JSON list of strings or a comma/line separated text, deduplicated.

    Raises ValidationError for anything else.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return split_names(value)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(_("Must be a list of strings."), code="invalid")
    return list(dict.fromkeys(item.strip() for item in value if item.strip()))


def name_list_problem(names: list[str], *, most: int, longest: int, too_many: str) -> str | None:
    """Why `names` cannot be saved, or None. `too_many` has %(most)s and %(count)s."""
    if len(names) > most:
        return too_many % {"most": most, "count": len(names)}
    for name in names:
        if has_control_characters(name):
            return _("Names cannot contain control characters.")
        if len(name) > longest:
            return _("“%(name)s…” is longer than %(longest)s characters.") % {
                "name": printable(name[:40]),
                "longest": longest,
            }
    return None


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


def clean_timeout(value: Any) -> float | None:
    """Seconds, more than 0 and at most MAX_TIMEOUT_SECONDS, from a JSON number or the page's
    text; blank or null is None, "use the global default". ValueError says why not."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(_("Must be a number of seconds."))
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        seconds = float(value.strip())
    else:
        raise ValueError(_("Must be a number of seconds."))
    if not seconds > 0:  # also refuses NaN
        raise ValueError(_("Must be more than 0 seconds."))
    if seconds > MAX_TIMEOUT_SECONDS:
        raise ValueError(_("At most %(limit)s seconds (a day).") % {"limit": MAX_TIMEOUT_SECONDS})
    return seconds
