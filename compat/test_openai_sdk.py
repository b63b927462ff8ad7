"""The official openai SDK, pointed at Sluice, gets what it would get from OpenAI."""

import json

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Describe a gateway in one sentence."},
]


def test_non_streaming_validates_as_chat_completion(openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(model="sim-small", messages=MESSAGES)
    completion = raw.parse()
    assert isinstance(completion, ChatCompletion)
    # Strict re-validation of the wire body, not just the SDK's lenient parse.
    body = json.loads(raw.text)
    ChatCompletion.model_validate(body, strict=False)
    for field in ("id", "object", "created", "model", "choices", "usage"):
        assert field in body, field
    assert body["object"] == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert raw.headers["x-sluice-call-id"].startswith("call_")
    assert raw.headers["x-sluice-provider"] == "sim"
    assert raw.headers["x-sluice-model"] == completion.model
    assert float(raw.headers["x-sluice-cost-usd"]) > 0


def test_stream_chunks_validate_and_text_matches(openai_client):
    full = openai_client.chat.completions.create(model="sim-small", messages=MESSAGES)
    stream = openai_client.chat.completions.create(model="sim-small", messages=MESSAGES, stream=True)
    pieces = []
    chunks = 0
    for chunk in stream:
        assert isinstance(chunk, ChatCompletionChunk)
        ChatCompletionChunk.model_validate(chunk.model_dump())
        assert chunk.object == "chat.completion.chunk"
        chunks += 1
        # Usage was not asked for, so no usage-only chunk arrives.
        assert chunk.choices, "unexpected usage-only chunk"
        if chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    assert chunks > 2
    assert "".join(pieces) == full.choices[0].message.content


def test_stream_usage_when_asked(openai_client):
    stream = openai_client.chat.completions.create(
        model="sim-large", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens


def test_n_and_max_tokens(openai_client):
    completion = openai_client.chat.completions.create(model="sim-small", messages=MESSAGES, n=2, max_tokens=3)
    assert len(completion.choices) == 2
    assert completion.choices[0].finish_reason == "length"


def test_unknown_model_is_bad_request(openai_client):
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.chat.completions.create(model="gpt-does-not-exist", messages=MESSAGES)
    assert info.value.status_code == 400
    assert info.value.code == "invalid_request"
    assert "Unknown model" in info.value.message


def test_wrong_type_names_the_field(openai_client):
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.chat.completions.create(model="sim-small", messages=MESSAGES, extra_body={"temperature": "hot"})
    assert info.value.param == "temperature"


def test_models_list(openai_client):
    ids = [m.id for m in openai_client.models.list()]
    assert "sim-small" in ids and "sim-large" in ids


def test_attribution_via_extra_headers(openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="sim-small",
        messages=MESSAGES,
        extra_headers={"X-Sluice-Purpose": "compat_suite", "X-Sluice-Run-Id": "run-compat"},
    )
    assert raw.status_code == 200


def test_embeddings_validate_as_create_embedding_response(openai_client):
    from openai.types import CreateEmbeddingResponse

    raw = openai_client.embeddings.with_raw_response.create(
        model="sim-small", input=["first text", "second text"], dimensions=12
    )
    result = raw.parse()  # the SDK asked for base64 and decoded it, as with OpenAI
    assert isinstance(result, CreateEmbeddingResponse)
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 12 for d in result.data)
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens > 0
    assert raw.headers["x-sluice-call-id"].startswith("call_")
    # Asked for floats explicitly, the same vector comes back (the default is base64, decoded by the SDK).
    floats_raw = openai_client.embeddings.with_raw_response.create(
        model="sim-small", input="first text", dimensions=12, encoding_format="float"
    )
    CreateEmbeddingResponse.model_validate(json.loads(floats_raw.text), strict=False)
    floats = floats_raw.parse()
    assert floats.data[0].embedding == pytest.approx(result.data[0].embedding, abs=1e-6)
