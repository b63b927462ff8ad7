"""A stream the upstream drops midway must raise in the client's SDK, never end
quietly as if the answer were complete (the `cut-stream` model's upstream closes
its connection after three events)."""

import anthropic
import openai
import pytest


def test_openai_sdk_raises_on_a_cut_stream(openai_client):
    received = []
    with pytest.raises(openai.APIError) as err:
        stream = openai_client.chat.completions.create(
            model="cut-stream", stream=True, messages=[{"role": "user", "content": "tell me everything"}],
        )
        for chunk in stream:
            received += [c.delta.content or "" for c in chunk.choices]
    assert "".join(received).startswith("This")
    assert "ended" in str(err.value) or "interrupted" in str(err.value) or "upstream" in str(err.value)


def test_anthropic_sdk_raises_on_a_cut_stream(anthropic_client):
    with pytest.raises(anthropic.APIError):
        with anthropic_client.messages.stream(
            model="cut-stream", max_tokens=100, messages=[{"role": "user", "content": "tell me everything"}],
        ) as stream:
            for _ in stream.text_stream:
                pass
