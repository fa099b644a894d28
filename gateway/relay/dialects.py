"""How a request is put to a channel of each type, and how its answer comes back.

A client speaks OpenAI's API (every /v1 path but the Messages ones) or Anthropic's Messages
API (`/v1/messages`, `/v1/messages/count_tokens`). A channel speaks OpenAI's API, Azure
OpenAI's (deployments in the path, `api-version`, an `api-key` header) or Anthropic's
(`x-api-key`, `anthropic-version`). `plan_call` works out the upstream URL, headers and body
for one attempt; when the two sides speak differently it also returns the `Translation` that
turns the answer (whole, streamed or an error) into the client's dialect (translate/).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import orjson

from core.errors import ApiError, upstream_error_message
from gateway.relay.bodies import ParsedBody, with_model
from gateway.relay.headers import upstream_headers
from gateway.relay.routing import Route
from gateway.relay.stream_usage import asks_for_usage
from gateway.relay.translate import messages_in, messages_out
from gateway.relay.translate.errors import (
    TranslationError,
    anthropic_error_body,
    usage_of_message,
)
from usage.counting import estimate_prompt_tokens, usage_of_answer

OPENAI = "openai"
ANTHROPIC = "anthropic"
AZURE = "azure"
MESSAGES = "/messages"
COUNT_TOKENS = "/messages/count_tokens"
MESSAGES_PATHS = frozenset({MESSAGES, COUNT_TOKENS})
# Sent to an Anthropic upstream when the client named no version (an OpenAI client never does).
ANTHROPIC_VERSION = "2023-06-01"
# An OpenAI request to an Anthropic upstream must name max_tokens; this is the one it gets.
ANTHROPIC_DEFAULT_MAX_TOKENS = 4096
_JSON = (b"content-type", b"application/json")


def client_dialect(path: str) -> str:
    return ANTHROPIC if path in MESSAGES_PATHS else OPENAI


class StreamTranslator(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...

    @property
    def usage(self) -> tuple[int, int, int] | None: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Translation:
    """Turns an upstream's answer into the client's dialect.

    `inbound`: an Anthropic client, an OpenAI-speaking upstream; else an OpenAI client and an
    Anthropic upstream. `model` is the name the client asked for.
    """

    inbound: bool
    model: str
    include_usage: bool = False

    def answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self.inbound:
            return messages_in.chat_to_message(payload, self.model)
        return messages_out.message_to_chat(payload, self.model, created=int(time.time()))

    def stream(self) -> StreamTranslator:
        if self.inbound:
            return messages_in.ChatStreamToMessages(self.model)
        return messages_out.MessagesStreamToChat(
            self.model, include_usage=self.include_usage, created=int(time.time())
        )


@dataclass(slots=True)
class Call:
    """One attempt's request to the upstream, and what its answer needs."""

    url: str
    headers: list[tuple[bytes, bytes]]
    body: bytes  # emptied once the answer streams (forward.py, _let_bodies_go)
    upstream_dialect: str  # what the answer is written in: OPENAI or ANTHROPIC
    translation: Translation | None = None
    sent_model: str = ""  # the model name the upstream was asked for
    # Answered here, without the upstream (count_tokens for a channel that has none).
    local_answer: dict[str, Any] | None = None


class CannotCall(Exception):
    """This channel cannot take this request (an endpoint its API lacks, a field it cannot
    translate); another channel of the model may. 400 when none can."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param


def unsupported(path: str, kind: str) -> CannotCall:
    return CannotCall(
        f"/v1{path} is not available for this model: its channel speaks the {kind} API.",
        code="unsupported_endpoint",
    )


def plan_call(
    route: Route,
    *,
    path: str,
    query: bytes,
    client_headers: list[tuple[bytes, bytes]],
    body: bytes,
    parsed: ParsedBody,
    sent_model: str,
    client_model: str,
    request_id: str,
    hops: tuple[bytes, bytes],
) -> Call:
    """The upstream call for this route; raises CannotCall when this channel cannot take the
    request, ApiError (400) when no channel could (a body that is not JSON)."""
    client = client_dialect(path)
    kind = route.kind
    if kind == ANTHROPIC:
        headers = _anthropic_headers(client_headers, route.api_key, request_id, hops)
        url = route.base_url + "/v1" + (path if client == ANTHROPIC else MESSAGES)
        if client == ANTHROPIC:
            return Call(
                url, headers, with_model(body, parsed, sent_model), ANTHROPIC, sent_model=sent_model
            )
        if path != "/chat/completions":
            raise unsupported(path, "Anthropic Messages")
        request = _translated(
            messages_out.chat_to_messages_request,
            _payload(parsed, sent_model),
            ANTHROPIC_DEFAULT_MAX_TOKENS,
        )
        outbound = Translation(
            inbound=False, model=client_model, include_usage=asks_for_usage(parsed)
        )
        return Call(url, headers, orjson.dumps(request), ANTHROPIC, outbound, sent_model)
    # An OpenAI-speaking channel (OpenAI-compatible or Azure).
    translation: Translation | None = None
    upstream_path = path
    if client == ANTHROPIC:
        if path == COUNT_TOKENS:
            estimate = {"input_tokens": estimate_prompt_tokens(parsed.payload)}
            return Call("", [], b"", OPENAI, local_answer=estimate)
        body = orjson.dumps(
            _translated(messages_in.messages_to_chat_request, _payload(parsed, sent_model))
        )
        translation = Translation(inbound=True, model=client_model)
        upstream_path = "/chat/completions"
        client_headers = _json_body(client_headers)
    else:
        body = with_model(body, parsed, sent_model)
    if kind == AZURE:
        url = (
            f"{route.base_url}/openai/deployments/{quote(sent_model, safe='')}{upstream_path}"
            f"?api-version={quote(route.api_version, safe='')}"
        )
        if query:
            url += "&" + query.decode("ascii")
        auth = (b"api-key", route.api_key.encode())
    else:
        url = route.base_url + upstream_path
        if query:
            url += "?" + query.decode("ascii")
        auth = (b"authorization", b"Bearer " + route.api_key.encode())
    headers = upstream_headers(client_headers, auth, request_id, hops)
    return Call(url, headers, body, OPENAI, translation, sent_model)


def _translated(translate: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    try:
        return translate(*args)
    except TranslationError as exc:
        raise CannotCall(exc.message, code="invalid_request_error", param=exc.param) from None


def _payload(parsed: ParsedBody, model: str) -> dict[str, Any]:
    if parsed.payload is None:
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    return {**parsed.payload, "model": model}


def _json_body(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The client's headers for a body the relay wrote: it is JSON, whatever they said."""
    return [header for header in headers if header[0] != b"content-type"] + [_JSON]


def _anthropic_headers(
    client_headers: list[tuple[bytes, bytes]],
    api_key: str,
    request_id: str,
    hops: tuple[bytes, bytes],
) -> list[tuple[bytes, bytes]]:
    headers = upstream_headers(
        _json_body(client_headers),
        (b"x-api-key", api_key.encode()),
        request_id,
        hops,
    )
    if not any(name == b"anthropic-version" for name, _ in headers):
        headers.append((b"anthropic-version", ANTHROPIC_VERSION.encode()))
    return headers


def answer_usage(dialect: str, payload: dict[str, Any]) -> tuple[int, int, int] | None:
    """The usage a whole answer reports, read in the upstream's own dialect."""
    return usage_of_message(payload) if dialect == ANTHROPIC else usage_of_answer(payload)


def client_error_body(status: int, content: bytes, secrets: Sequence[str]) -> bytes:
    """An upstream's error for an Anthropic client: Anthropic's shape, the message scrubbed."""
    return anthropic_error_body(status, upstream_error_message(status, content, secrets))
