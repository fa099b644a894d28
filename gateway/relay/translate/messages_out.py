"""OpenAI chat clients, Anthropic Messages upstreams: the request over, the answer back.

- `chat_to_messages_request(payload, default_max_tokens) -> dict`: a chat completions request
  body as a Messages API request body (`max_tokens` from max_tokens or
  max_completion_tokens, else `default_max_tokens`). Raises `TranslationError` (errors.py)
  when it is malformed or asks for what Claude cannot do.
- `message_to_chat(message, model, *, created) -> dict`: an Anthropic Message as a
  `chat.completion` named `model`, created at `created` (Unix seconds, the caller's clock).
- `MessagesStreamToChat(model, *, include_usage, created)`: a Messages API stream, as raw SSE
  bytes cut anywhere, turned into chat completion chunks as they arrive: `feed(data) ->
  bytes`, `finish() -> bytes` (what is still due when the upstream ended early); `usage` is
  `(prompt, completion, total)` once the stream told it, `text` the text and tool-argument
  text relayed. The final usage chunk (`choices: []`) is sent only when `include_usage`;
  `data: [DONE]` ends the stream (not after an error).

What maps: system and developer messages become `system` (joined by blank lines, wherever
they stood); user text, image_url (data: URLs as base64 sources, others as url sources) and
PDF `file` parts (file_data) as document blocks; assistant text and `tool_calls` (and the
legacy `function_call`) as tool_use blocks; `tool` (and legacy `function`) messages as
tool_result blocks in a user turn; consecutive turns of one role merged (Anthropic wants
them alternating); tools and legacy functions; tool_choice auto / required -> any / none /
a named function -> tool, `parallel_tool_calls: false` -> disable_parallel_tool_use; stop
(string or list) -> stop_sequences; temperature clamped to [0, 1]; top_p; user ->
metadata.user_id; stream. Refused (TranslationError): n > 1, logprobs, audio output,
response_format other than text, input audio, files by id, non-function tools. Dropped:
seed, penalties, logit_bias, reasoning_effort, service_tier, store, prediction, ...
Back: text, tool_use (arguments as JSON text), thinking as `reasoning_content`; stop
reasons end_turn / stop_sequence / pause_turn -> stop, max_tokens -> length, tool_use ->
tool_calls, refusal -> content_filter; usage with cache writes and reads counted in
prompt_tokens (cache reads also as prompt_tokens_details.cached_tokens).
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

import orjson

from gateway.relay.translate.errors import TranslationError
from gateway.relay.translate.messages_in import arguments_input
from gateway.relay.translate.sse_events import sse
from gateway.relay.translate.stream_base import StreamTranslation

_DATA_URL = re.compile(r"data:(?P<media>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,(?P<data>.*)", re.S)
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_TOOL_CHOICES = {"auto": "auto", "required": "any", "none": "none"}


# --- the request --------------------------------------------------------------------------


def chat_to_messages_request(payload: dict[str, Any], default_max_tokens: int) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise TranslationError("The request body must be a JSON object.")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise TranslationError("you must provide a model parameter", "model")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise TranslationError("messages: a non-empty list is required", "messages")
    _refuse_unsupported(payload)

    system: list[str] = []
    turns: list[dict[str, Any]] = []
    function_ids: dict[str, str] = {}  # legacy function_call name -> the id given it
    for at, message in enumerate(messages):
        param = f"messages.{at}"
        if not isinstance(message, dict):
            raise TranslationError(f"{param}: must be an object", param)
        role = message.get("role")
        if role in ("system", "developer"):
            text = _plain_text(message.get("content"), f"{param}.content")
            if text:
                system.append(text)
            continue
        if role == "user":
            blocks = _user_blocks(message.get("content"), f"{param}.content")
        elif role == "assistant":
            blocks = _assistant_blocks(message, param, function_ids)
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise TranslationError(f"{param}.tool_call_id: Field required", param)
            blocks = [_tool_result(call_id, message.get("content"), f"{param}.content")]
            role = "user"
        elif role == "function":
            name = message.get("name")
            if not isinstance(name, str) or name not in function_ids:
                raise TranslationError(f"{param}.name: no function call of that name", param)
            blocks = [_tool_result(function_ids[name], message.get("content"), param)]
            role = "user"
        else:
            raise TranslationError(f"{param}.role: '{role}' is not a valid role", f"{param}.role")
        if not blocks:
            continue  # an empty turn: Anthropic refuses empty content
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":
            # Tool results must open a user turn; merging may have put text before them.
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")

    request: dict[str, Any] = {
        "model": model,
        "max_tokens": _max_tokens(payload, default_max_tokens),
        "messages": turns,
    }
    if system:
        request["system"] = "\n\n".join(system)
    tools = _tools(payload)
    if tools:
        request["tools"] = tools
    tool_choice = _tool_choice(payload)
    if tool_choice is not None and tools:
        request["tool_choice"] = tool_choice
    stop = payload.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise TranslationError("stop: must be a string or a list of strings", "stop")
        stop = [s for s in stop if s.strip()]  # Anthropic refuses blank stop sequences
        if stop:
            request["stop_sequences"] = stop
    temperature = payload.get("temperature")
    if temperature is not None:
        if not _is_number(temperature):
            raise TranslationError("temperature: must be a number", "temperature")
        request["temperature"] = min(max(float(temperature), 0.0), 1.0)
    top_p = payload.get("top_p")
    if top_p is not None:
        if not _is_number(top_p):
            raise TranslationError("top_p: must be a number", "top_p")
        request["top_p"] = top_p
    user = payload.get("user")
    if isinstance(user, str) and user:
        request["metadata"] = {"user_id": user}
    if payload.get("stream") is True:
        request["stream"] = True
    return request


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse_unsupported(payload: dict[str, Any]) -> None:
    n = payload.get("n")
    if n is not None and n != 1:
        raise TranslationError("n: only one choice can be asked of this model", "n")
    if payload.get("logprobs") or payload.get("top_logprobs"):
        raise TranslationError("logprobs: not available for this model", "logprobs")
    if payload.get("audio") is not None or "audio" in (payload.get("modalities") or []):
        raise TranslationError("audio output is not available for this model", "modalities")
    response_format = payload.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") not in (None, "text"):
        raise TranslationError(
            "response_format: only 'text' is available for this model", "response_format"
        )


def _max_tokens(payload: dict[str, Any], default: int) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = payload.get(name)
        if value is not None:
            if not _is_int(value) or value < 1:
                raise TranslationError(f"{name}: must be a positive integer", name)
            limit: int = value
            return limit
    return default


def _plain_text(content: object, param: str) -> str:
    """The text of a system, developer or tool message: a string or text parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise TranslationError(f"{param}: must be a string or a list of parts", param)
    texts = []
    for at, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text":
            raise TranslationError(f"{param}.{at}: only text parts are allowed here", param)
        texts.append(_text_of(part, f"{param}.{at}"))
    return "\n".join(texts)


def _text_of(part: dict[str, Any], param: str) -> str:
    text = part.get("text")
    if not isinstance(text, str):
        raise TranslationError(f"{param}.text: Field required", f"{param}.text")
    return text


def _user_blocks(content: object, param: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError(f"{param}: must be a string or a list of parts", param)
    blocks = []
    for at, part in enumerate(content):
        part_param = f"{param}.{at}"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = _text_of(part, part_param)
            if text:
                blocks.append({"type": "text", "text": text})
        elif kind == "image_url":
            blocks.append(_image_block(part, part_param))
        elif kind == "file":
            blocks.append(_document_block(part, part_param))
        else:
            raise TranslationError(
                f"{part_param}.type: '{kind}' parts cannot be sent to this model",
                f"{part_param}.type",
            )
    return blocks


def _image_block(part: dict[str, Any], param: str) -> dict[str, Any]:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise TranslationError(f"{param}.image_url.url: Field required", f"{param}.image_url")
    if url.startswith("data:"):
        found = _DATA_URL.fullmatch(url)
        if found is None:
            raise TranslationError(f"{param}.image_url.url: not a base64 data URL", param)
        source = {"type": "base64", "media_type": found["media"], "data": found["data"]}
        return {"type": "image", "source": source}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _document_block(part: dict[str, Any], param: str) -> dict[str, Any]:
    file = part.get("file")
    data = file.get("file_data") if isinstance(file, dict) else None
    found = _DATA_URL.fullmatch(data) if isinstance(data, str) else None
    if found is None or found["media"] != "application/pdf":
        raise TranslationError(
            f"{param}.file: only PDF files given as file_data can be sent to this model", param
        )
    source = {"type": "base64", "media_type": "application/pdf", "data": found["data"]}
    return {"type": "document", "source": source}


def _assistant_blocks(
    message: dict[str, Any], param: str, function_ids: dict[str, str]
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    content = message.get("content")
    if isinstance(content, list):  # text and refusal parts
        text = "".join(
            str(part.get("text") or part.get("refusal") or "")
            for part in content
            if isinstance(part, dict)
        )
    elif isinstance(content, str) or content is None:
        text = content or ""
    else:
        raise TranslationError(f"{param}.content: must be a string or a list", param)
    if text:
        blocks.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise TranslationError(f"{param}.tool_calls: must be a list", f"{param}.tool_calls")
    for at, call in enumerate(calls or []):
        call_param = f"{param}.tool_calls.{at}"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TranslationError(f"{call_param}.function: Field required", call_param)
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            raise TranslationError(f"{call_param}.id: Field required", call_param)
        blocks.append(_tool_use(call_id, function))
    legacy = message.get("function_call")
    if isinstance(legacy, dict) and isinstance(legacy.get("name"), str):
        call_id = f"toolu_function_{len(function_ids)}"
        function_ids[legacy["name"]] = call_id
        blocks.append(_tool_use(call_id, legacy))
    return blocks


def _tool_use(call_id: str, function: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": call_id,
        "name": function["name"],
        "input": arguments_input(function.get("arguments")),
    }


def _tool_result(call_id: str, content: object, param: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": _plain_text(content, param)}


def _tools(payload: dict[str, Any]) -> list[dict[str, Any]]:
    tools = payload.get("tools")
    functions = payload.get("functions")
    if tools is not None and not isinstance(tools, list):
        raise TranslationError("tools: must be a list", "tools")
    if functions is not None and not isinstance(functions, list):
        raise TranslationError("functions: must be a list", "functions")
    result = []
    for at, tool in enumerate(tools or []):
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            raise TranslationError(f"tools.{at}: only function tools are available", "tools")
        result.append(_tool(tool.get("function"), f"tools.{at}.function"))
    for at, function in enumerate(functions or []):
        result.append(_tool(function, f"functions.{at}"))
    return result


def _tool(function: object, param: str) -> dict[str, Any]:
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise TranslationError(f"{param}.name: Field required", param)
    tool: dict[str, Any] = {"name": function["name"]}
    if isinstance(function.get("description"), str):
        tool["description"] = function["description"]
    parameters = function.get("parameters")
    tool["input_schema"] = (
        parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    )
    return tool


def _tool_choice(payload: dict[str, Any]) -> dict[str, Any] | None:
    choice = payload.get("tool_choice", payload.get("function_call"))
    result: dict[str, Any] | None
    if choice is None:
        result = None
    elif isinstance(choice, str) and choice in _TOOL_CHOICES:
        result = {"type": _TOOL_CHOICES[choice]}
    elif isinstance(choice, dict):
        function = choice.get("function") if "function" in choice else choice
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise TranslationError("tool_choice.function.name: Field required", "tool_choice")
        result = {"type": "tool", "name": name}
    else:
        raise TranslationError(
            "tool_choice: must be 'auto', 'required', 'none' or a function", "tool_choice"
        )
    if payload.get("parallel_tool_calls") is False:
        result = result or {"type": "auto"}
        if result["type"] != "none":
            result["disable_parallel_tool_use"] = True
    return result


# --- the answer ---------------------------------------------------------------------------


def chat_id(upstream_id: object) -> str:
    """`chatcmpl-` and the upstream message's id (its `msg_` dropped)."""
    if isinstance(upstream_id, str) and upstream_id:
        return "chatcmpl-" + upstream_id.removeprefix("msg_")
    return "chatcmpl-tollgate"


def _finish_reason(stop_reason: object) -> str:
    return _FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def openai_usage(usage: object) -> dict[str, Any]:
    """Anthropic `usage` as OpenAI's: cache writes and reads are prompt tokens too."""
    usage = usage if isinstance(usage, dict) else {}
    counts = {
        key: value if _is_int(value) and value > 0 else 0
        for key in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        )
        for value in [usage.get(key)]
    }
    prompt = (
        counts["input_tokens"]
        + counts["cache_creation_input_tokens"]
        + counts["cache_read_input_tokens"]
    )
    completion = counts["output_tokens"]
    result: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if counts["cache_read_input_tokens"]:
        result["prompt_tokens_details"] = {"cached_tokens": counts["cache_read_input_tokens"]}
    return result


def message_to_chat(message: dict[str, Any], model: str, *, created: int) -> dict[str, Any]:
    texts: list[str] = []
    thinking: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thinking.append(block["thinking"])
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": arguments},
                }
            )
    chat_message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
    }
    if thinking:
        chat_message["reasoning_content"] = "".join(thinking)
    if tool_calls:
        chat_message["tool_calls"] = tool_calls
    return {
        "id": chat_id(message.get("id")),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": chat_message,
                "logprobs": None,
                "finish_reason": _finish_reason(message.get("stop_reason")),
            }
        ],
        "usage": openai_usage(message.get("usage")),
    }


# --- the stream ---------------------------------------------------------------------------

_DONE = b"data: [DONE]\n\n"


class MessagesStreamToChat(StreamTranslation):
    """A Messages API stream in, chat completion chunks out, as they arrive.

    The role chunk goes out at `message_start`, text and tool-argument deltas as they come
    (each tool_use block a tool call of its own index, its id and name on its first chunk),
    thinking as `reasoning_content`, the finish reason at `message_delta`, and at
    `message_stop` the usage chunk (when asked for) and `[DONE]`.
    """

    def __init__(self, model: str, *, include_usage: bool, created: int) -> None:
        super().__init__()
        self.model = model
        self.include_usage = include_usage
        self.created = created
        self._id = "chatcmpl-tollgate"
        self._started = False
        self._finished = False  # the finish_reason chunk went out
        self._tool_index: dict[int, int] = {}  # block index -> tool call index
        self._usage_in: dict[str, int] = {}

    def finish(self) -> bytes:
        if self._done:
            return b""
        out: list[bytes] = []
        if not self._started:
            self._error("The upstream ended the stream before answering.", "api_error", out)
        else:
            self._end(out)
        return b"".join(out)

    def _chunk(self, delta: dict[str, Any], out: list[bytes], finish: str | None = None) -> None:
        chunk = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        out.append(sse(None, orjson.dumps(chunk)))

    def _event(self, event: str, payload: bytes, out: list[bytes]) -> None:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(data, dict):
            return
        kind = data.get("type") or event
        if kind == "error" or event == "error":
            error = data.get("error")
            error = error if isinstance(error, dict) else {}
            message = error.get("message")
            error_type = error.get("type")
            self._error(
                message if isinstance(message, str) and message else "The upstream failed.",
                error_type if isinstance(error_type, str) else "api_error",
                out,
            )
        elif kind == "message_start":
            self._start(data.get("message"), out)
        elif not self._started:
            return  # nothing may come before message_start
        elif kind == "content_block_start":
            self._block_start(data, out)
        elif kind == "content_block_delta":
            self._block_delta(data, out)
        elif kind == "message_delta":
            self._message_delta(data, out)
        elif kind == "message_stop":
            self._end(out)

    def _start(self, message: object, out: list[bytes]) -> None:
        if self._started:
            return
        self._started = True
        message = message if isinstance(message, dict) else {}
        self._id = chat_id(message.get("id"))
        self._count(message.get("usage"))
        self._chunk({"role": "assistant", "content": ""}, out)

    def _count(self, usage: object) -> None:
        """Anthropic's counts are cumulative: a later event's count replaces an earlier one."""
        if isinstance(usage, dict):
            for key, value in usage.items():
                if _is_int(value) and value >= 0:
                    self._usage_in[key] = value
            counted = openai_usage(self._usage_in)
            self._usage = (
                counted["prompt_tokens"],
                counted["completion_tokens"],
                counted["total_tokens"],
            )

    def _block_start(self, data: dict[str, Any], out: list[bytes]) -> None:
        block = data.get("content_block")
        index = data.get("index")
        if not isinstance(block, dict) or not _is_int(index):
            return
        index_int: int = index
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str) and block["text"]:
            self._text_delta(block["text"], out)
        elif kind == "thinking" and isinstance(block.get("thinking"), str) and block["thinking"]:
            self._chunk({"reasoning_content": block["thinking"]}, out)
            self._keep(block["thinking"])
        elif kind == "tool_use":
            at = self._tool_index[index_int] = len(self._tool_index)
            given = block.get("input")
            arguments = orjson.dumps(given).decode() if given else ""
            call = {
                "index": at,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": arguments},
            }
            self._chunk({"tool_calls": [call]}, out)
            self._keep(arguments)
        # Server tool blocks (web search and such) ran at Anthropic: nothing to relay.

    def _text_delta(self, text: str, out: list[bytes]) -> None:
        self._chunk({"content": text}, out)
        self._keep(text)

    def _block_delta(self, data: dict[str, Any], out: list[bytes]) -> None:
        delta = data.get("delta")
        if not isinstance(delta, dict):
            return
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str):
            self._text_delta(delta["text"], out)
        elif kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            at = self._tool_index.get(data.get("index"))  # type: ignore[arg-type]
            if at is not None and delta["partial_json"]:
                call = {"index": at, "function": {"arguments": delta["partial_json"]}}
                self._chunk({"tool_calls": [call]}, out)
                self._keep(delta["partial_json"])
        elif kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
            self._chunk({"reasoning_content": delta["thinking"]}, out)
            self._keep(delta["thinking"])
        # signature and citations deltas have no chat counterpart

    def _message_delta(self, data: dict[str, Any], out: list[bytes]) -> None:
        self._count(data.get("usage"))
        delta = data.get("delta")
        stop_reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        if stop_reason is not None and not self._finished:
            self._finished = True
            self._chunk({}, out, _finish_reason(stop_reason))

    def _end(self, out: list[bytes]) -> None:
        if not self._finished:
            self._finished = True
            self._chunk({}, out, "stop")
        if self.include_usage:
            counted = openai_usage(self._usage_in)
            chunk = {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": counted,
            }
            out.append(sse(None, orjson.dumps(chunk)))
        out.append(_DONE)
        self._done = True

    def _error(self, message: str, error_type: str, out: list[bytes]) -> None:
        error = {"message": message, "type": error_type, "param": None, "code": None}
        out.append(sse(None, orjson.dumps({"error": error})))
        self._done = True
