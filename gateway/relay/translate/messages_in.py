"""Anthropic Messages clients, OpenAI chat upstreams: the request over, the answer back.

- `messages_to_chat_request(payload) -> dict`: a Messages API request body as a chat
  completions request body. Raises `TranslationError` (errors.py) when it is malformed.
- `chat_to_message(answer, model) -> dict`: a chat completion as an Anthropic Message, named
  `model` (the model the client asked for).
- `ChatStreamToMessages(model)`: a chat completion stream, as raw SSE bytes cut anywhere,
  turned into Messages API stream events as they arrive: `feed(data) -> bytes` gives what
  to send now, `finish() -> bytes` what is still due when the upstream ended (with or
  without `[DONE]`); `usage` is `(prompt, completion, total)` from the upstream's usage
  chunk (None until one came) and `text` the text and tool-argument text relayed.

What maps: system (string or text blocks) becomes the first system message; text and image
blocks (base64 as `data:` URLs, URLs as they are), documents with a text source as text and
base64 PDFs as `file` parts; assistant `tool_use` blocks become `tool_calls` (arguments as a
JSON string); `tool_result` blocks become `tool` messages (errors prefixed "Error: "; their
images follow in a user message); thinking blocks are dropped; tools, tool_choice (auto,
any -> required, tool -> the named function, none; `disable_parallel_tool_use` ->
`parallel_tool_calls: false`), stop_sequences -> stop, temperature, top_p, max_tokens,
metadata.user_id -> user, stream -> stream with `stream_options.include_usage`. Other fields
(top_k, thinking, service_tier, cache_control...) are dropped.
Back: text, tool calls (arguments parsed; invalid JSON kept as `{"_raw": text}`), DeepSeek-
style `reasoning_content` as a thinking block, refusals as text; finish reasons stop ->
end_turn (stop_sequence when the upstream names the stop string, as vLLM does), length ->
max_tokens, tool_calls / function_call -> tool_use, content_filter -> refusal; usage with
cached prompt tokens as cache_read_input_tokens.
"""

from __future__ import annotations

import hashlib
from typing import Any, TypeGuard

import orjson

from gateway.relay.translate.errors import TranslationError
from gateway.relay.translate.sse_events import sse
from gateway.relay.translate.stream_base import StreamTranslation

_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


# --- the request --------------------------------------------------------------------------


def messages_to_chat_request(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise TranslationError("The request body must be a JSON object.")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise TranslationError("model: Field required", "model")
    max_tokens = payload.get("max_tokens")
    if not _is_int(max_tokens) or max_tokens < 1:
        raise TranslationError("max_tokens: Field required (a positive integer)", "max_tokens")
    messages = payload.get("messages")
    if not isinstance(messages, list):
        raise TranslationError("messages: Field required (a list)", "messages")

    chat_messages: list[dict[str, Any]] = []
    system = _system_text(payload.get("system"))
    if system:
        chat_messages.append({"role": "system", "content": system})
    for at, message in enumerate(messages):
        chat_messages.extend(_chat_messages(message, f"messages.{at}"))

    request: dict[str, Any] = {"model": model, "messages": chat_messages, "max_tokens": max_tokens}
    tools = payload.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise TranslationError("tools: must be a list", "tools")
        if tools:
            request["tools"] = [_tool(tool, f"tools.{at}") for at, tool in enumerate(tools)]
    if payload.get("tool_choice") is not None:
        _tool_choice(payload["tool_choice"], request)
    stop = payload.get("stop_sequences")
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise TranslationError("stop_sequences: must be a list of strings", "stop_sequences")
        if stop:
            request["stop"] = stop
    for name in ("temperature", "top_p"):
        value = payload.get(name)
        if value is not None:
            if not _is_number(value):
                raise TranslationError(f"{name}: must be a number", name)
            request[name] = value
    metadata = payload.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        request["user"] = metadata["user_id"]
    if payload.get("stream") is True:
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
    return request


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _system_text(system: object) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    if not isinstance(system, list):
        raise TranslationError("system: must be a string or a list of text blocks", "system")
    texts = []
    for at, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise TranslationError("system: only text blocks are allowed", f"system.{at}")
        texts.append(_text_of(block, f"system.{at}"))
    return "\n\n".join(text for text in texts if text)


def _text_of(block: dict[str, Any], param: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise TranslationError(f"{param}.text: Field required", f"{param}.text")
    return text


def _chat_messages(message: object, param: str) -> list[dict[str, Any]]:
    if not isinstance(message, dict):
        raise TranslationError(f"{param}: must be an object", param)
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise TranslationError(f"{param}.role: must be 'user' or 'assistant'", f"{param}.role")
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise TranslationError(f"{param}.content: Field required", f"{param}.content")
    blocks = []
    for at, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise TranslationError(
                f"{param}.content.{at}: must be a content block", f"{param}.content.{at}"
            )
        blocks.append(block)
    if role == "assistant":
        return [_assistant_message(blocks, f"{param}.content")]
    return _user_messages(blocks, f"{param}.content")


def _assistant_message(blocks: list[dict[str, Any]], param: str) -> dict[str, Any]:
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for at, block in enumerate(blocks):
        kind = block["type"]
        if kind == "text":
            texts.append(_text_of(block, f"{param}.{at}"))
        elif kind == "tool_use":
            tool_calls.append(_tool_call(block, f"{param}.{at}"))
        elif kind in ("thinking", "redacted_thinking"):
            continue  # the upstream cannot check Anthropic's signatures; they only cost tokens
        else:
            raise TranslationError(
                f"{param}.{at}.type: '{kind}' cannot be sent to this model in an assistant turn",
                f"{param}.{at}.type",
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    elif message["content"] is None:
        message["content"] = ""
    return message


def _tool_call(block: dict[str, Any], param: str) -> dict[str, Any]:
    tool_id, name = block.get("id"), block.get("name")
    if not isinstance(tool_id, str) or not isinstance(name, str):
        raise TranslationError(f"{param}: tool_use needs an id and a name", param)
    arguments = orjson.dumps(block.get("input") or {}).decode()
    return {"id": tool_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _user_messages(blocks: list[dict[str, Any]], param: str) -> list[dict[str, Any]]:
    """Tool results as `tool` messages first (they must follow the assistant's tool calls),
    then the rest of the turn as one user message."""
    tool_messages: list[dict[str, Any]] = []
    tool_images: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for at, block in enumerate(blocks):
        kind = block["type"]
        if kind == "tool_result":
            text, images = _tool_result(block, f"{param}.{at}")
            tool_messages.append(
                {"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}
            )
            if images:
                note = f"Images returned by tool call {block['tool_use_id']}:"
                tool_images.extend([{"type": "text", "text": note}, *images])
        elif kind in ("thinking", "redacted_thinking"):
            continue
        else:
            parts.append(_user_part(block, f"{param}.{at}"))
    parts = tool_images + parts
    if not parts:
        return tool_messages
    if len(parts) == 1 and parts[0]["type"] == "text":
        return [*tool_messages, {"role": "user", "content": parts[0]["text"]}]
    return [*tool_messages, {"role": "user", "content": parts}]


def _user_part(block: dict[str, Any], param: str) -> dict[str, Any]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": _text_of(block, param)}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _image_url(block, param)}}
    if kind == "document":
        return _document_part(block, param)
    raise TranslationError(
        f"{param}.type: '{kind}' cannot be sent to this model in a user turn", f"{param}.type"
    )


def _image_url(block: dict[str, Any], param: str) -> str:
    source = block.get("source")
    if isinstance(source, dict):
        if source.get("type") == "base64":
            media_type, data = source.get("media_type"), source.get("data")
            if isinstance(media_type, str) and isinstance(data, str):
                return f"data:{media_type};base64,{data}"
        elif source.get("type") == "url" and isinstance(source.get("url"), str):
            url: str = source["url"]
            return url
    raise TranslationError(
        f"{param}.source: a base64 or url image source is required for this model",
        f"{param}.source",
    )


def _document_part(block: dict[str, Any], param: str) -> dict[str, Any]:
    source = block.get("source")
    if isinstance(source, dict):
        if source.get("type") == "text" and isinstance(source.get("data"), str):
            return {"type": "text", "text": source["data"]}
        if (
            source.get("type") == "base64"
            and source.get("media_type") == "application/pdf"
            and isinstance(source.get("data"), str)
        ):
            title = block.get("title")
            return {
                "type": "file",
                "file": {
                    "filename": title if isinstance(title, str) and title else "document.pdf",
                    "file_data": f"data:application/pdf;base64,{source['data']}",
                },
            }
    raise TranslationError(
        f"{param}.source: only text and base64 PDF documents can be sent to this model",
        f"{param}.source",
    )


def _tool_result(block: dict[str, Any], param: str) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(block.get("tool_use_id"), str):
        raise TranslationError(f"{param}.tool_use_id: Field required", f"{param}.tool_use_id")
    content = block.get("content")
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for at, item in enumerate(content):
            item_param = f"{param}.content.{at}"
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == "text":
                texts.append(_text_of(item, item_param))
            elif kind == "image":
                images.append(_user_part(item, item_param))
            elif kind == "document":
                part = _document_part(item, item_param)
                if part["type"] == "text":
                    texts.append(part["text"])
                else:
                    images.append(part)
            else:
                raise TranslationError(
                    f"{item_param}: tool results may hold text, images and documents",
                    item_param,
                )
    elif content is not None:
        raise TranslationError(f"{param}.content: must be a string or a list", param)
    text = "\n".join(texts)
    if block.get("is_error") is True:
        text = f"Error: {text}" if text else "Error"
    return text, images


def _tool(tool: object, param: str) -> dict[str, Any]:
    if not isinstance(tool, dict):
        raise TranslationError(f"{param}: must be an object", param)
    name, schema = tool.get("name"), tool.get("input_schema")
    if not isinstance(name, str) or not name:
        raise TranslationError(f"{param}.name: Field required", f"{param}.name")
    if tool.get("type") not in (None, "custom") or not isinstance(schema, dict):
        # Anthropic's server tools (web search, bash, text editor...) run at Anthropic only.
        raise TranslationError(
            f"{param}: only client tools with an input_schema can be sent to this model", param
        )
    function: dict[str, Any] = {"name": name}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    function["parameters"] = schema
    return {"type": "function", "function": function}


def _tool_choice(choice: object, request: dict[str, Any]) -> None:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or kind not in ("auto", "any", "tool", "none"):
        raise TranslationError(
            "tool_choice.type: must be 'auto', 'any', 'tool' or 'none'", "tool_choice"
        )
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise TranslationError("tool_choice.name: Field required", "tool_choice.name")
        request["tool_choice"] = {"type": "function", "function": {"name": name}}
    else:
        request["tool_choice"] = _TOOL_CHOICES[kind]
    if choice.get("disable_parallel_tool_use") is True and "tools" in request:
        request["parallel_tool_calls"] = False


# --- the answer ---------------------------------------------------------------------------


def message_id(upstream_id: object, seed: bytes = b"") -> str:
    """`msg_` and the upstream's id (its `chatcmpl-` dropped); a digest of `seed` without one."""
    if isinstance(upstream_id, str) and upstream_id:
        return "msg_" + upstream_id.removeprefix("chatcmpl-")
    return "msg_" + hashlib.sha256(seed).hexdigest()[:24]


def arguments_input(arguments: object) -> dict[str, Any]:
    """A tool call's `arguments` JSON as the object Anthropic's `input` must be."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"_raw": arguments}
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def anthropic_usage(usage: object) -> dict[str, int]:
    """OpenAI `usage` as Anthropic's: cached prompt tokens apart, as cache reads."""
    prompt, completion, _ = _usage_numbers(usage) or (0, 0, 0)
    cached = 0
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens_details"), dict):
        value = usage["prompt_tokens_details"].get("cached_tokens")
        cached = value if _is_int(value) and 0 < value <= prompt else 0
    result = {"input_tokens": prompt - cached, "output_tokens": completion}
    if cached:
        result["cache_read_input_tokens"] = cached
    return result


def _usage_numbers(usage: object) -> tuple[int, int, int] | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    prompt = prompt if _is_int(prompt) and prompt > 0 else 0
    completion = completion if _is_int(completion) and completion > 0 else 0
    total = usage.get("total_tokens")
    total = total if _is_int(total) and total > 0 else prompt + completion
    return prompt, completion, total


def _stop_reason(choice: dict[str, Any]) -> tuple[str, str | None]:
    """Anthropic's stop_reason and stop_sequence for a chat choice."""
    finish = choice.get("finish_reason")
    # vLLM and SGLang name the stop string that ended the answer; OpenAI does not.
    matched = choice.get("stop_reason") or choice.get("matched_stop")
    if finish == "stop" and isinstance(matched, str) and matched:
        return "stop_sequence", matched
    return _STOP_REASONS.get(finish, "end_turn") if isinstance(finish, str) else "end_turn", None


def chat_to_message(answer: dict[str, Any], model: str) -> dict[str, Any]:
    choices = answer.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    choice = choice if isinstance(choice, dict) else {}
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}

    content: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = message.get("content")
    if isinstance(text, list):  # some upstreams answer in parts
        text = "".join(
            part.get("text", "") for part in text if isinstance(part, dict) and "text" in part
        )
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        content.append({"type": "text", "text": refusal})
    calls = message.get("tool_calls")
    for at, call in enumerate(calls if isinstance(calls, list) else []):
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            content.append(_tool_use(call["function"], call.get("id"), at))
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        content.append(_tool_use(legacy, None, len(content)))

    stop_reason, stop_sequence = _stop_reason(choice)
    if refusal and stop_reason == "end_turn":
        stop_reason = "refusal"
    if stop_reason == "end_turn" and any(block["type"] == "tool_use" for block in content):
        stop_reason = "tool_use"  # some upstreams say "stop" after calling tools
    return {
        "id": message_id(answer.get("id"), orjson.dumps(answer)),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": anthropic_usage(answer.get("usage")),
    }


def _tool_use(function: dict[str, Any], call_id: object, at: int) -> dict[str, Any]:
    name = function.get("name")
    return {
        "type": "tool_use",
        "id": call_id if isinstance(call_id, str) and call_id else f"toolu_{at}",
        "name": name if isinstance(name, str) else "",
        "input": arguments_input(function.get("arguments")),
    }


# --- the stream ---------------------------------------------------------------------------


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return sse(name, orjson.dumps(payload))


class ChatStreamToMessages(StreamTranslation):
    """A chat completion stream in, Messages API stream events out, as they arrive.

    Blocks open and close in order (a new index for text, thinking and each tool call; the
    open one closed before the next opens). The finish reason is held until the usage
    chunk (asked for with include_usage) or the end, so `message_delta` carries both.
    """

    def __init__(self, model: str) -> None:
        super().__init__()
        self.model = model
        self._started = False
        self._index = -1  # index of the last block opened
        self._open: str | None = None  # kind of the open block: text, thinking, tool_use
        self._tool_blocks: dict[object, int] = {}  # upstream tool call index -> block index
        self._tool_ids: dict[object, str | None] = {}  # upstream tool call index -> its id
        self._open_tool: object = None
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        self._anthropic_usage: dict[str, int] | None = None

    def finish(self) -> bytes:
        if self._done:
            return b""
        out: list[bytes] = []
        if not self._started:
            self._error("The upstream ended the stream before answering.", out)
        else:
            self._end(out)
        return b"".join(out)

    def _event(self, event: str, payload: bytes, out: list[bytes]) -> None:
        del event  # chat completion chunks come as plain `data:` lines
        payload = payload.strip()
        if not payload:
            return
        if payload == b"[DONE]":
            if self._started:
                self._end(out)
            return
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return  # not a chunk (a provider's own notice); nothing a client could use
        if not isinstance(chunk, dict):
            return
        if "error" in chunk:
            self._error(_stream_error_message(chunk["error"]), out)
            return
        if not self._started:
            self._start(chunk, out)
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        if isinstance(choice, dict):
            self._choice(choice, out)
        usage = _usage_numbers(chunk.get("usage"))
        if usage is not None:
            self._usage = usage
            self._anthropic_usage = anthropic_usage(chunk["usage"])
            if self._stop_reason is not None:
                self._end(out)

    def _start(self, chunk: dict[str, Any], out: list[bytes]) -> None:
        self._started = True
        usage = anthropic_usage(chunk.get("usage")) if chunk.get("usage") else None
        message: dict[str, Any] = {
            "id": message_id(chunk.get("id"), orjson.dumps(chunk)),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": usage["input_tokens"] if usage else 0, "output_tokens": 0},
        }
        out.append(_event("message_start", {"type": "message_start", "message": message}))

    def _choice(self, choice: dict[str, Any], out: list[bytes]) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self._open_block("thinking", out)
                self._delta({"type": "thinking_delta", "thinking": reasoning}, out)
                self._keep(reasoning)
            for key in ("content", "refusal"):
                text = delta.get(key)
                if isinstance(text, str) and text:
                    self._open_block("text", out)
                    self._delta({"type": "text_delta", "text": text}, out)
                    self._keep(text)
            calls = delta.get("tool_calls")
            for call in calls if isinstance(calls, list) else []:
                if isinstance(call, dict):
                    self._tool_call(call, out)
            legacy = delta.get("function_call")
            if isinstance(legacy, dict):
                self._tool_call({"index": "function_call", "function": legacy}, out)
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            self._stop_reason, self._stop_sequence = _stop_reason(choice)
            if self._stop_reason == "end_turn" and self._tool_blocks:
                self._stop_reason = "tool_use"
            self._close_block(out)

    def _tool_call(self, call: dict[str, Any], out: list[bytes]) -> None:
        call_id = call.get("id") if isinstance(call.get("id"), str) and call["id"] else None
        key = call.get("index")
        if key is None:  # an upstream leaving out the index: each new id is a new call
            key = call_id if call_id is not None else self._open_tool
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        # Some upstreams number every call 0, or repeat the id on each chunk: a new call is
        # an index not seen yet, or a known index with another id.
        known_id = self._tool_ids.get(key)
        if key not in self._tool_blocks or (call_id and known_id and call_id != known_id):
            self._close_block(out)
            self._index += 1
            self._tool_blocks[key] = self._index
            self._tool_ids[key] = call_id
            self._open, self._open_tool = "tool_use", key
            name = function.get("name")
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call_id or f"toolu_{self._index}",
                "name": name if isinstance(name, str) else "",
                "input": {},
            }
            out.append(
                _event(
                    "content_block_start",
                    {"type": "content_block_start", "index": self._index, "content_block": block},
                )
            )
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # a few upstreams send the object itself
            arguments = orjson.dumps(arguments).decode()
        if isinstance(arguments, str) and arguments:
            # Arguments for a call already closed (upstreams interleaving calls) still go to
            # their own block: the SDKs gather deltas by index.
            delta = {"type": "input_json_delta", "partial_json": arguments}
            self._delta(delta, out, self._tool_blocks[key])
            self._keep(arguments)

    def _open_block(self, kind: str, out: list[bytes]) -> None:
        if self._open == kind:
            return
        self._close_block(out)
        self._index += 1
        self._open = kind
        if kind == "text":
            block: dict[str, Any] = {"type": "text", "text": ""}
        else:
            block = {"type": "thinking", "thinking": "", "signature": ""}
        out.append(
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": self._index, "content_block": block},
            )
        )

    def _close_block(self, out: list[bytes]) -> None:
        if self._open is None:
            return
        self._open, self._open_tool = None, None
        out.append(
            _event("content_block_stop", {"type": "content_block_stop", "index": self._index})
        )

    def _delta(self, delta: dict[str, Any], out: list[bytes], index: int | None = None) -> None:
        at = self._index if index is None else index
        out.append(
            _event(
                "content_block_delta", {"type": "content_block_delta", "index": at, "delta": delta}
            )
        )

    def _end(self, out: list[bytes]) -> None:
        self._close_block(out)
        usage: dict[str, int] = {"output_tokens": 0}
        if self._anthropic_usage is not None:
            usage = {**self._anthropic_usage}
        message_delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": self._stop_reason
                or ("tool_use" if self._tool_blocks else "end_turn"),
                "stop_sequence": self._stop_sequence,
            },
            "usage": usage,
        }
        out.append(_event("message_delta", message_delta))
        out.append(_event("message_stop", {"type": "message_stop"}))
        self._done = True

    def _error(self, message: str, out: list[bytes]) -> None:
        error = {"type": "error", "error": {"type": "api_error", "message": message}}
        out.append(_event("error", error))
        self._done = True


def _stream_error_message(error: object) -> str:
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        message: str = error["message"]
        return message
    if isinstance(error, str) and error:
        return error
    return "The upstream failed while streaming."
