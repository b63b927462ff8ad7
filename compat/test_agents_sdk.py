"""The OpenAI Agents SDK with its default model (the Responses API) and a function tool."""
import pytest

agents = pytest.importorskip("agents")


def test_an_agent_run_with_a_function_tool_completes(base_url):
    from openai import AsyncOpenAI

    from agents import Agent, Runner, function_tool, set_default_openai_client, set_tracing_disabled

    set_tracing_disabled(True)
    set_default_openai_client(AsyncOpenAI(base_url=base_url + "/v1", api_key="any-key-works-on-loopback", max_retries=0))

    @function_tool
    def get_weather(city: str, unit: str) -> str:
        """The weather in a city."""
        return f"18 {unit.upper()} in {city}"

    agent = Agent(name="weather", instructions="Answer with the tool.", model="gpt-tools-once", tools=[get_weather])
    result = Runner.run_sync(agent, "What is the weather in Paris?")
    assert result.final_output == "The tool said: 18 C in Paris"
