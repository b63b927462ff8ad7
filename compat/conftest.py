import os

import pytest


@pytest.fixture(scope="session")
def base_url() -> str:
    url = os.environ.get("SLUICE_BASE_URL")
    if not url:
        pytest.fail("SLUICE_BASE_URL is not set: run these tests through `swift test` or point them at a running Sluice")
    return url


@pytest.fixture(scope="session")
def openai_client(base_url):
    import openai

    return openai.OpenAI(base_url=base_url + "/v1", api_key="any-key-works-on-loopback", max_retries=0)


@pytest.fixture(scope="session")
def anthropic_client(base_url):
    import anthropic

    return anthropic.Anthropic(base_url=base_url, api_key="any-key-works-on-loopback", max_retries=0)
