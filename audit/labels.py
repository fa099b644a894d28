"""Words for the stored action and object-type codes; an unknown code reads as itself."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, Promise] = {
    "created": _("Created"),
    "changed": _("Changed"),
    "deleted": _("Deleted"),
    "copied": _("Copied"),
    "enabled": _("Enabled"),
    "disabled": _("Disabled"),
    "auto_disabled": _("Auto-disabled"),
    "model_disabled": _("Model taken off"),
    "cooled_down": _("Cooling down"),
    "tested": _("Tested"),
    "test_all": _("Tested all"),
    "key_changed": _("Key changed"),
    "revoked": _("Revoked"),
    "two_factor_enabled": _("Two-factor sign-in turned on"),
    "two_factor_disabled": _("Two-factor sign-in turned off"),
    "recovery_codes_regenerated": _("New recovery codes"),
    "signed_in": _("Signed in"),
    "sign_in_code_refused": _("Sign-in code refused"),
}

OBJECT_TYPE_LABELS: dict[str, Promise] = {
    "channel": _("Channel"),
    "token": _("Token"),
    "admin_key": _("Admin API key"),
    "user": _("Admin user"),
    "price": _("Price"),
    "group_multiplier": _("Group multiplier"),
}


def _readable(code: str) -> str:
    return code.replace("_", " ").capitalize()


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action) or _readable(action))


def object_type_label(object_type: str) -> str:
    return str(OBJECT_TYPE_LABELS.get(object_type) or _readable(object_type))
