"""Recording admin actions. Callers pass who acted; nothing here reads a request global."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from audit.models import ActorKind, AuditEvent

# Values written into `changes` are cut to this length: the log records, it does not archive.
MAX_CHANGE_VALUE = 200
SECRET_CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something, and from which address."""

    kind: str
    label: str
    ip: str | None = None


SYSTEM = Actor(ActorKind.SYSTEM, "gateway")
COMMAND = Actor(ActorKind.SYSTEM, "manage.py")


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def actor_from_request(request: HttpRequest) -> Actor:
    """The signed-in admin, or the admin key `admin_key_required` accepted for this request."""
    ip = _valid_ip(request.META.get("REMOTE_ADDR"))
    admin_key = getattr(request, "admin_key", None)
    if admin_key is not None:
        return Actor(ActorKind.ADMIN_KEY, admin_key.name_and_prefix, ip)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor(ActorKind.USER, user.get_username(), ip)
    return Actor(ActorKind.SYSTEM, "anonymous", ip)


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_CHANGE_VALUE:
        return value[:MAX_CHANGE_VALUE] + "…"
    if isinstance(value, list | dict):
        text = repr(value)
        return value if len(text) <= MAX_CHANGE_VALUE else text[:MAX_CHANGE_VALUE] + "…"
    return value


def changed_fields(
    before: dict[str, Any], after: dict[str, Any], *, secret: tuple[str, ...] = ()
) -> dict[str, Any]:
    """{"field": [old, new]} for each field that differs; a secret field says only "changed"."""
    changes: dict[str, Any] = {}
    for field, new in after.items():
        old = before.get(field)
        if old == new:
            continue
        changes[field] = SECRET_CHANGED if field in secret else [_short(old), _short(new)]
    return changes


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object = "",
    object_repr: str = "",
    changes: dict[str, Any] | None = None,
    detail: str = "",
) -> AuditEvent:
    """Write one audit event. Call it inside the write's transaction, so both land or neither."""
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor=actor.label[:150],
        ip=_valid_ip(actor.ip),
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:40],
        object_repr=object_repr[:200],
        changes=changes or {},
        detail=detail[:500],
    )
