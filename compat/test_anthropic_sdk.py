"""The official anthropic SDK, pointed at Sluice's /v1/messages, gets Anthropic's shapes back
whatever provider answers (here the simulated one, which speaks the OpenAI shape)."""

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
