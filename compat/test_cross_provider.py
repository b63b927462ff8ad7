"""The SDKs across the translators: the openai SDK reaching an Anthropic upstream,
and the anthropic SDK reaching an OpenAI upstream, streaming and tools included."""

import json

from anthropic.types import Message
from openai.types.chat import ChatCompletion, ChatCompletionChunk

TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}},
    },
}
TOOL_ANTHROPIC = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}},
}


def test_openai_sdk_to_anthropic_upstream(openai_client):
    msgs = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "What is a gateway?"}]
    raw = openai_client.chat.completions.with_raw_response.create(model="claude-fake", messages=msgs)
    ChatCompletion.model_validate(json.loads(raw.text), strict=False)
    whole = raw.parse()
    assert whole.choices[0].message.content == "The gateway routes every call to the right model."
    assert whole.usage.prompt_tokens == 30 and whole.usage.completion_tokens == 11
    stream = openai_client.chat.completions.create(
        model="claude-fake", messages=msgs, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    for c in chunks:
        ChatCompletionChunk.model_validate(c.model_dump(), strict=False)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == whole.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == 11


def test_openai_sdk_tool_calls_through_anthropic(openai_client):
    msgs = [{"role": "user", "content": "Weather in Paris?"}]
    whole = openai_client.chat.completions.create(model="claude-tools", messages=msgs, tools=[TOOL_OPENAI])
    call = whole.choices[0].message.tool_calls[0]
    assert whole.choices[0].finish_reason == "tool_calls"
    assert call.id == "call_w1" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "c"}
    args = {}
    for chunk in openai_client.chat.completions.create(model="claude-tools", messages=msgs, tools=[TOOL_OPENAI], stream=True):
        for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "")
    assert json.loads(args[0]) == {"city": "Paris", "unit": "c"}
    # The tool result goes back in OpenAI shape and reaches Anthropic as a tool_result.
    follow = openai_client.chat.completions.create(
        model="claude-tools", tools=[TOOL_OPENAI],
        messages=msgs + [whole.choices[0].message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": "call_w1", "content": "18 C, sunny"}],
    )
    assert follow.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_anthropic_sdk_tool_use_through_openai_upstream(anthropic_client):
    args = dict(
        model="gpt-tools", max_tokens=200, tools=[TOOL_ANTHROPIC],
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    raw = anthropic_client.messages.with_raw_response.create(**args)
    Message.model_validate(json.loads(raw.http_response.text), strict=False)
    message = raw.parse()
    assert message.stop_reason == "tool_use"
    tool = [b for b in message.content if b.type == "tool_use"][0]
    assert tool.id == "call_w1" and tool.name == "get_weather" and tool.input == {"city": "Paris", "unit": "c"}
    with anthropic_client.messages.stream(**args) as stream:
        final = stream.get_final_message()
    streamed_tool = [b for b in final.content if b.type == "tool_use"][0]
    assert streamed_tool.input == {"city": "Paris", "unit": "c"}
    assert final.stop_reason == "tool_use"
    assert [b.text for b in final.content if b.type == "text"] == ["Let me check."]
