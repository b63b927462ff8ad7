"""The official SDKs through the cloud providers: the openai and anthropic SDKs reaching
AWS Bedrock (Converse, SigV4-signed) and Google Vertex AI (Gemini's generateContent and
Claude's rawPredict, with a service-account token), text, streams and a tool call both ways.

The fakes behind `bedrock-claude`, `vertex-gemini` and `vertex-claude` answer "Let me check."
with a `get_weather` call, and "The tool said: RESULT" once a tool result comes back."""

import json

import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

MODELS = ["bedrock-claude", "vertex-gemini", "vertex-claude"]
TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}},
    },
}
TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}},
}


@pytest.mark.parametrize("model", MODELS)
def test_openai_sdk_text_stream_and_tools(openai_client, model):
    msgs = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Weather in Paris?"}]
    raw = openai_client.chat.completions.with_raw_response.create(model=model, messages=msgs, tools=[TOOL_OPENAI])
    ChatCompletion.model_validate(json.loads(raw.text), strict=False)
    whole = raw.parse()
    message = whole.choices[0].message
    assert message.content == "Let me check."
    assert whole.choices[0].finish_reason == "tool_calls"
    call = message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "c"}
    assert whole.usage.prompt_tokens > 0 and whole.usage.completion_tokens > 0

    stream = openai_client.chat.completions.create(
        model=model, messages=msgs, tools=[TOOL_OPENAI], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Let me check."
    args = "".join(
        tc.function.arguments or "" for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])
    )
    assert json.loads(args) == {"city": "Paris", "unit": "c"}
    assert chunks[-1].usage.completion_tokens > 0

    # The tool result goes back in the provider's own shape, and the model answers from it.
    msgs += [message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'}]
    done = openai_client.chat.completions.create(model=model, messages=msgs, tools=[TOOL_OPENAI])
    assert done.choices[0].message.content.startswith("The tool said: ")
    assert "21" in done.choices[0].message.content
    assert done.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", MODELS)
def test_anthropic_sdk_text_stream_and_tools(anthropic_client, model):
    msgs = [{"role": "user", "content": "Weather in Paris?"}]
    raw = anthropic_client.messages.with_raw_response.create(
        model=model, max_tokens=200, system="Be terse.", messages=msgs, tools=[TOOL_ANTHROPIC]
    )
    Message.model_validate(json.loads(raw.http_response.text), strict=False)
    whole = raw.parse()
    assert whole.stop_reason == "tool_use"
    assert [b.type for b in whole.content] == ["text", "tool_use"]
    assert whole.content[0].text == "Let me check."
    use = whole.content[1]
    assert use.name == "get_weather" and use.input == {"city": "Paris", "unit": "c"}

    with anthropic_client.messages.stream(
        model=model, max_tokens=200, system="Be terse.", messages=msgs, tools=[TOOL_ANTHROPIC]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Let me check."
    assert final.stop_reason == "tool_use"
    assert final.content[-1].input == {"city": "Paris", "unit": "c"}
    assert final.usage.output_tokens > 0

    msgs += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in whole.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": '{"temp": 21}'}]},
    ]
    done = anthropic_client.messages.create(model=model, max_tokens=200, messages=msgs, tools=[TOOL_ANTHROPIC])
    assert done.stop_reason == "end_turn"
    assert done.content[0].text.startswith("The tool said: ") and "21" in done.content[0].text
