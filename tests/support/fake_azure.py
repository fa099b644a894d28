"""A fake Azure OpenAI resource on 127.0.0.1: deployments in the path, `api-version` in the
query and the key in `api-key`, as Azure takes them; it answers like OpenAI otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_upstream import FakeUpstream, Recorded
from tests.support.upstream_parts import ServedUpstream, read_body, running, send_whole

API_VERSION = "2024-10-21"


@dataclass
class FakeAzure(ServedUpstream):
    api_key: str = "azure-upstream-test-key-0123456789"
    deployments: list[str] = field(default_factory=lambda: ["gpt4o-prod"])
    requests: list[Recorded] = field(default_factory=list)
    # Answers as OpenAI would, once the Azure parts are checked and taken off.
    inner: FakeUpstream = field(default_factory=lambda: FakeUpstream(name="azure"))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode()
        path = scope["path"]
        self.requests.append(Recorded(scope["method"], path, headers, body, query))
        if headers.get("api-key") != self.api_key:
            await _error(send, 401, "401", "Access denied due to invalid subscription key.")
            return
        if f"api-version={API_VERSION}" not in query.split("&"):
            await _error(send, 404, "404", "Resource not found")
            return
        if scope["method"] == "GET" and path == "/openai/models":
            data = [{"id": name, "object": "model"} for name in self.deployments]
            await _json(send, 200, {"object": "list", "data": data})
            return
        prefix = "/openai/deployments/"
        deployment, _, rest = path.removeprefix(prefix).partition("/")
        if not path.startswith(prefix) or deployment not in self.deployments:
            await _error(send, 404, "DeploymentNotFound", "The API deployment does not exist.")
            return
        # The inner OpenAI fake answers /v1/<rest> with the key it expects.
        inner_scope = {
            **scope,
            "path": "/v1/" + rest,
            "raw_path": ("/v1/" + rest).encode(),
            "query_string": b"",
            "headers": [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"api-key", b"authorization")
            ]
            + [(b"authorization", f"Bearer {self.inner.api_key}".encode())],
        }
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.inner(inner_scope, replay, send)


async def _json(send: Any, status: int, payload: Any) -> None:
    await send_whole(
        send, status, json.dumps(payload).encode(), [(b"content-type", b"application/json")]
    )


async def _error(send: Any, status: int, code: str, text: str) -> None:
    await _json(send, status, {"error": {"code": code, "message": text}})


@contextmanager
def running_azure(**options: Any) -> Iterator[FakeAzure]:
    with running(FakeAzure(**options)) as upstream:
        yield upstream
