"""Translation between the Anthropic Messages API and OpenAI chat completions, both ways.

Pure functions and incremental stream translators: no Django, no I/O, no clock (the caller
passes `created`). The relay decides when to translate; these modules only translate.

- sse_events.py: `SSEEvents` (an incremental SSE parser) and `sse` (one event written).
- stream_base.py: `StreamTranslation`, what both stream translators share (events read as
  they arrive, the usage and text relayed).
- messages_in.py: Anthropic clients to OpenAI chat upstreams (`messages_to_chat_request`,
  `chat_to_message`, `ChatStreamToMessages`).
- messages_out.py: OpenAI chat clients to Anthropic upstreams (`chat_to_messages_request`,
  `message_to_chat`, `MessagesStreamToChat`).
- errors.py: `TranslationError`, the Anthropic error shape, `usage_of_message`.
"""
