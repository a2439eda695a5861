"""The functions' DynamoDB read timeout: DynamoDB's 5 s by default (a deployed stack never
sets it), longer in the local stack, where moto serves one call at a time and a call may
wait its turn for seconds under load (1,000 $disconnects at once)."""

from __future__ import annotations

from local.runner.settings import LOCAL_DYNAMODB_READ_TIMEOUT_SECONDS, function_environment
from realtime import bootstrap
from realtime.config import HubSettings

REQUIRED = {"TABLE_NAME": "realtime-test", "WEBSOCKET_CALLBACK_URL": "https://example.com/prod"}


def _read_timeout(settings: HubSettings) -> float:
    client = bootstrap.dynamodb_client(settings)
    timeout: float = client.meta.config.read_timeout
    return timeout


def test_deployed_functions_keep_dynamodb_short_read_timeout() -> None:
    settings = HubSettings.from_env(REQUIRED)
    assert settings.dynamodb_read_timeout_seconds == 5
    assert _read_timeout(settings) == 5


def test_the_local_stack_lets_a_call_wait_its_turn_in_moto() -> None:
    environment = function_environment(8000, "http://127.0.0.1:9")
    settings = HubSettings.from_env({**REQUIRED, **environment})
    assert settings.dynamodb_read_timeout_seconds == LOCAL_DYNAMODB_READ_TIMEOUT_SECONDS > 5
    assert _read_timeout(settings) == LOCAL_DYNAMODB_READ_TIMEOUT_SECONDS
