from __future__ import annotations


class RelayApp:
    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def lifespan(self, scope, receive, send):  # type: ignore[no-untyped-def]
        raise NotImplementedError
