"""Template helpers every admin page shares: `{% load adminui %}`.

`{{ value|ago }}`: a time as "just now", "5 minutes ago" or "in 3 days", with the exact
local time on hover (`title`) and the machine-readable one in `datetime`. Empty for None, so
a template says what a missing time means: `{{ token.last_used_at|ago|default:_("Never") }}`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

register = template.Library()

# Closer to now than this, in either direction, reads "just now" (never "0 minutes ago").
JUST_NOW = timedelta(minutes=1)
EXACT_FORMAT = "Y-m-d H:i:s T"


def relative_time(value: datetime, now: datetime | None = None) -> str:
    """ "just now", "5 minutes ago", "in 3 days": the largest unit only."""
    now = now or timezone.now()
    if abs(now - value) < JUST_NOW:
        return _("just now")
    if value < now:
        return _("%(delta)s ago") % {"delta": timesince(value, now, depth=1)}
    return _("in %(delta)s") % {"delta": timeuntil(value, now, depth=1)}


@register.filter(is_safe=True)
def ago(value: datetime | None) -> SafeString | str:
    if not isinstance(value, datetime):
        return ""
    exact = format_date(timezone.localtime(value), EXACT_FORMAT)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        exact,
        relative_time(value),
    )
