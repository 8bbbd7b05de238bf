"""The endpoint of the tests' own, started and stopped around each test that asks for it."""

import pytest

from tests.integrations.ai.endpoint import Endpoint


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.stop()
