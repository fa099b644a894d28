"""An audit event as the page shows it; every value stays text for the template to escape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from audit.labels import action_label, object_type_label
from audit.models import AuditEvent
from audit.services import SECRET_CHANGED


@dataclass(frozen=True, slots=True)
class ChangeLine:
    field: str
    old: str
    new: str
    # A secret field: the log knows only that it changed, never a value.
    secret: bool = False


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def change_lines(changes: Any) -> list[ChangeLine]:
    if not isinstance(changes, dict):
        return []
    lines = []
    for field, change in changes.items():
        if isinstance(change, list | tuple) and len(change) == 2:
            lines.append(ChangeLine(str(field), _text(change[0]), _text(change[1])))
        elif change == SECRET_CHANGED:
            lines.append(ChangeLine(str(field), "", "", secret=True))
        else:
            lines.append(ChangeLine(str(field), "", _text(change)))
    return lines


@dataclass(frozen=True, slots=True)
class EventRow:
    event: AuditEvent
    action: str
    object_type: str
    changes: list[ChangeLine]


def event_rows(events: Any) -> list[EventRow]:
    return [
        EventRow(
            event=event,
            action=action_label(event.action),
            object_type=object_type_label(event.object_type),
            changes=change_lines(event.changes),
        )
        for event in events
    ]


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "object": "audit_event",
        "at": event.at.isoformat(),
        "actor_kind": event.actor_kind,
        "actor": event.actor,
        "ip": event.ip,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": event.changes,
        "detail": event.detail,
    }
