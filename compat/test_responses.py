"""The OpenAI Responses API through Sluice, driven by the official openai SDK."""
import json

import pydantic
import pytest


def test_create_retrieve_input_items_delete(openai_client):
    r = openai_client.responses.create(model="sim-small", input="echo: Hello from the Responses API", instructions="Be brief.")
    assert r.id.startswith("resp_")
    assert r.status == "completed"
    assert r.output_text == "Hello from the Responses API"
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens

    got = openai_client.responses.retrieve(r.id)
    assert got.id == r.id and got.output_text == r.output_text

    items = openai_client.responses.input_items.list(r.id)
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].content[0].text == "echo: Hello from the Responses API"

    deleted = openai_client.responses.delete(r.id)
    assert deleted is None  # the SDK returns nothing on success
    import openai

    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(r.id)


def test_stream_deltas_equal_the_whole_text(openai_client):
    deltas = []
    types = []
    with openai_client.responses.stream(model="sim-large", input="echo: one two three four five six") as stream:
        for event in stream:
            types.append(event.type)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "one two three four five six"
    assert types[0] == "response.created" and types[-1] == "response.completed"
    # Sequence numbers and the stored response agree with the stream.
    assert openai_client.responses.retrieve(final.id).output_text == final.output_text


class Person(pydantic.BaseModel):
    name: str
    age: int


def test_parse_with_a_pydantic_model(openai_client):
    r = openai_client.responses.parse(model="sim-small", input='echo: {"name": "Ada", "age": 36}', text_format=Person)
    assert r.output_parsed == Person(name="Ada", age=36)


def test_function_tool_round_trip(openai_client):
    tools = [{
        "type": "function", "name": "get_weather", "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                       "required": ["city", "unit"], "additionalProperties": False},
        "strict": True,
    }]
    first = openai_client.responses.create(model="gpt-tools-once", input="What is the weather in Paris?", tools=tools)
    calls = [o for o in first.output if o.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments) == {"city": "Paris", "unit": "c"}
    second = openai_client.responses.create(
        model="gpt-tools-once", previous_response_id=first.id, tools=tools,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "18 C and sunny"}],
    )
    assert second.output_text == "The tool said: 18 C and sunny"


def test_a_conversation_survives_a_fallback_to_another_provider(openai_client):
    """`conv` is an OpenAI target (native Responses API) with an Anthropic fallback; the
    upstream is scripted so that turn two fails on OpenAI. Sluice keeps the state, so turn
    three (on OpenAI again) still sees turn one; the Swift side checks what OpenAI received."""
    one = openai_client.responses.create(model="conv", input="My name is Grace.")
    assert one.output_text == "fake answer to: My name is Grace."
    two = openai_client.responses.create(model="conv", input="What is my name?", previous_response_id=one.id)
    assert two.output_text == "fake answer to: What is my name?"
    three = openai_client.responses.create(model="conv", input="And again?", previous_response_id=two.id)
    assert three.output_text == "fake answer to: And again?"
    assert three.previous_response_id == two.id


def test_errors_name_the_field(openai_client):
    import openai

    with pytest.raises(openai.BadRequestError) as e:
        openai_client.responses.create(model="sim-small", input=[{"type": "no_such_item"}])
    assert "input[0]" in str(e.value)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.create(model="sim-small", input="hi", previous_response_id="resp_does_not_exist")
    once = openai_client.responses.create(model="sim-small", input="hi", store=False)
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.responses.create(model="sim-small", input="again", previous_response_id=once.id)
    assert "store: false" in str(e.value)
