"""Load the functions under functions/ and invoke them as Lambda would.

Every function lives in a file called handler.py, so each is imported under its own
module name. Importing is the cold start: the handlers build their AWS clients and
validate their configuration then, so os.environ must be set before the first load.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.emulated import log_keys
from local.emulated.latency import LatencyModel, Service
from local.runner.settings import FUNCTION_ENVIRONMENT, LOCAL_ACCOUNT_ID, LOCAL_REGION

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"  # the repository root
# Every folder of functions/ with a handler.py: the same set CDK deploys (a test checks).
FUNCTION_NAMES = tuple(sorted(path.parent.name for path in FUNCTIONS_DIR.glob("*/handler.py")))
# Powertools' REST resolver keeps per-request state in class attributes. In AWS every
# concurrent request gets its own execution environment; here they share a process.
SERIALIZED_FUNCTIONS = frozenset({"rest_api"})
_MODULE_PREFIX = "local_lambda_"
_load_lock = threading.Lock()
_invoke_locks = {name: threading.Lock() for name in SERIALIZED_FUNCTIONS}

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes of AWS's context object that Powertools and the handlers read."""

    function_name: str
    memory_limit_in_mb: int = 256
    timeout_seconds: float = 30.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _deadline: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id[:8]}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(name: str) -> Handler:
    """`handler` of functions/<name>/handler.py, imported once (a cold start) per process."""
    if name not in FUNCTION_NAMES:
        raise ValueError(f"unknown function {name!r}; expected one of: {', '.join(FUNCTION_NAMES)}")
    module_name = _MODULE_PREFIX + name
    with _load_lock:
        module = sys.modules.get(module_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(module_name, FUNCTIONS_DIR / name / "handler.py")
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load functions/{name}/handler.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                with _function_environment(name):
                    spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
    handler: Handler = module.handler
    return handler


@contextlib.contextmanager
def _function_environment(name: str) -> Iterator[None]:
    """The variables CDK gives this function only (FUNCTION_ENVIRONMENT), set while it loads:
    its cold start reads them (the layer keeps what it builds from them per configuration,
    realtime.bootstrap.hub), the other functions keep theirs. Loads are serialized; the
    window is the import of one handler."""
    extra = FUNCTION_ENVIRONMENT.get(name, {})
    saved = {variable: os.environ.get(variable) for variable in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


def unload_handlers() -> None:
    """Forget every loaded function, so the next load is a fresh cold start."""
    with _load_lock:
        for name in FUNCTION_NAMES:
            sys.modules.pop(_MODULE_PREFIX + name, None)
        log_keys.forget_environments()


def invoke(name: str, event: dict[str, Any], handler: Handler | None = None) -> Any:
    """One synchronous invocation (of functions/<name>, or of `handler` standing in for
    it). The event and the result cross a JSON boundary, as in Lambda, so neither side
    can share or mutate the other's objects."""
    handler = handler or load_handler(name)
    context = LambdaContext(function_name=f"realtime-local-{name}")
    with _invoke_locks.get(name) or contextlib.nullcontext(), log_keys.environment_keys().invocation(name):
        result = handler(json.loads(json.dumps(event)), context)
    return json.loads(json.dumps(result))


class LambdaRuntime:
    """Invokes functions off the event loop: handlers block on boto3, and during a
    fan-out they call back into the very server that invoked them."""

    def __init__(self, max_workers: int = 64, *, replacements: Mapping[str, Handler] | None = None) -> None:
        """`replacements`: handlers run instead of some functions/<name> (another design
        behind the same emulated services, e.g. bench/reference.py's baseline)."""
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lambda")
        self._replacements = dict(replacements or {})
        self._locks: dict[str, asyncio.Lock] = {}
        self.latency = LatencyModel()

    def load_all(self) -> None:
        for name in FUNCTION_NAMES:
            if name not in self._replacements:
                load_handler(name)

    async def invoke(self, name: str, event: dict[str, Any]) -> Any:
        await self.latency.wait(Service.LAMBDA_INVOKE)
        loop = asyncio.get_running_loop()
        replacement = self._replacements.get(name)
        if replacement is not None:
            return await loop.run_in_executor(self._executor, invoke, name, event, replacement)
        if name not in SERIALIZED_FUNCTIONS:
            return await loop.run_in_executor(self._executor, invoke, name, event)
        # Queued on the event loop as well, so waiting invocations hold no worker thread.
        async with self._locks.setdefault(name, asyncio.Lock()):
            return await loop.run_in_executor(self._executor, invoke, name, event)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
