"""When each token was last used: noted per request, written by the usage writer's timer."""

from __future__ import annotations

from django.utils import timezone

from tokens.models import Token


def store_last_used(token_ids: list[int]) -> None:
    Token.objects.filter(pk__in=token_ids).update(last_used_at=timezone.now())
