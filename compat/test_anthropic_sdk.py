"""The official anthropic SDK, pointed at Sluice's /v1/messages, gets Anthropic's shapes back
whatever provider answers (the simulated one, which speaks the OpenAI shape), and Anthropic-only
features (thinking, top_k, documents, cache_control ttl, betas) reach Anthropic targets natively."""

import json

import anthropic
import pytest
from anthropic.types import Message


def test_non_streaming_validates_as_message(anthropic_client):
    raw = anthropic_client.messages.with_raw_response.create(
        model="sim-small", max_tokens=200, system="Be terse.",
        messages=[{"role": "user", "content": "Describe a gateway in one sentence."}],
    )
    message = raw.parse()
    assert isinstance(message, Message)
    Message.model_validate(json.loads(raw.http_response.text), strict=False)
    assert message.role == "assistant"
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert raw.headers["x-sluice-call-id"].startswith("call_")


def test_streamed_text_equals_non_streamed(anthropic_client):
    args = dict(model="sim-small", max_tokens=300, messages=[{"role": "user", "content": "Tell me about rivers."}])
    whole = anthropic_client.messages.create(**args)
    with anthropic_client.messages.stream(**args) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == whole.content[0].text
    assert final.content[0].text == streamed
    assert final.stop_reason == whole.stop_reason
    assert final.usage.output_tokens > 0


def test_errors_have_the_anthropic_shape(anthropic_client):
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.create(
            model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.status_code == 400
    body = info.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "no-such-model" in body["error"]["message"]


# Anthropic-only features, sent by the SDK to an Anthropic target (`claude-fake`): the request
# goes upstream as it is (CompatTests checks what the upstream received) and the answer comes
# back as the upstream gave it, signed thinking blocks included.
THINKING = {"type": "enabled", "budget_tokens": 1024}
NATIVE_ARGS = dict(
    model="claude-fake",
    max_tokens=2048,
    thinking=THINKING,
    # Not a parameter of every SDK version's create(): sent as the raw field.
    extra_body={"top_k": 5},
    system=[{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
    messages=[
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "A gateway routes calls."},
                    "title": "Notes",
                },
                {"type": "text", "text": "What is a gateway?"},
            ],
        }
    ],
    extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
)
ANSWER = "The gateway routes every call to the right model."


def test_thinking_reaches_the_sdk_natively(anthropic_client):
    raw = anthropic_client.messages.with_raw_response.create(**NATIVE_ARGS)
    Message.model_validate(json.loads(raw.http_response.text), strict=False)
    message = raw.parse()
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking and message.content[0].signature
    assert message.content[1].text == ANSWER
    assert message.id == "msg_fake"
    assert raw.headers["x-sluice-provider"] == "claude"


def test_streamed_thinking_reaches_the_sdk_natively(anthropic_client):
    whole = anthropic_client.messages.create(**NATIVE_ARGS)
    with anthropic_client.messages.stream(**NATIVE_ARGS) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "thinking" in kinds and "signature" in kinds and "text" in kinds
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == whole.content[0].thinking
    assert final.content[0].signature == whole.content[0].signature
    assert final.content[1].text == ANSWER
    assert final.stop_reason == "end_turn"


def test_thinking_for_a_model_without_anthropic_targets_is_a_400(anthropic_client):
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.create(
            model="gpt-tools", max_tokens=2048, thinking=THINKING, messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.body["error"]["type"] == "invalid_request_error"
    assert "'thinking' cannot be translated" in info.value.body["error"]["message"]
