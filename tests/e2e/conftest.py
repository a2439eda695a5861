"""The local stack, started once for the e2e suite and driven over real sockets.

The stack is package-scoped: it stops (and restores os.environ) as soon as the last e2e
test has run, before any other suite shares the process. Tests are coroutines, run by
the hook below (no asyncio plugin needed), each bounded by TEST_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import httpx
import pytest

from tests.local_deployment import ObservedDeployment

TEST_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="package")
def stack() -> Iterator[ObservedDeployment]:
    with ObservedDeployment(port=0) as running:
        yield running


@pytest.fixture(autouse=True)
def no_leftover_connections(stack: ObservedDeployment) -> Iterator[None]:
    """Every test leaves the stack as it found it: no socket open, every count back to 0."""
    yield
    stack.wait_idle(timeout=10)
    status = httpx.get(f"{stack.rest_url}/status", timeout=5).json()
    assert status["connections"] == 0, f"the test left {status['connections']} connection(s) recorded"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(asyncio.wait_for(pyfuncitem.obj(**arguments), TEST_TIMEOUT_SECONDS))
    return True
