"""The local stack as an object: `LocalDeployment(port=0).start()` serves the WebSocket,
@connections and REST APIs from a background thread, with DynamoDB from moto.

The handlers read os.environ at import (their cold start), and the environment is
process-wide, so one stack runs per process at a time: in tests, one for the whole suite.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Self, TypeVar

import uvicorn

from local.emulated import access_log
from local.emulated.connections import ConnectionInfo, ConnectionRegistry
from local.emulated.dynamodb import LocalDynamoDB
from local.emulated.event_bus import BusSettings, LocalEventBus
from local.emulated.fanout_queue import LocalFanoutQueue
from local.emulated.faults import FaultPlan
from local.emulated.gateway_requests import Gateway
from local.emulated.lambdas import Handler, LambdaRuntime
from local.emulated.latency import LatencyModel
from local.emulated.management_api import ManagementApi
from local.emulated.protocols import GatewayWebSocketProtocol, LimitedHttpProtocol
from local.emulated.schedule import SweepSchedule
from local.emulated.sigv4 import SigV4Verifier
from local.runner import process_env
from local.runner.app import build_app
from local.runner.dashboard import DashboardSite
from local.runner.settings import (
    EVENT_BUS_PATH,
    IAM_REST_BASE_PATH,
    LOCAL_ACCOUNT_ID,
    LOCAL_TABLE_NAME,
    LOCAL_TOKEN_PATH,
    REST_BASE_PATH,
    WEBSOCKET_PATH,
    function_environment,
)
from realtime.auth import TokenVerifier
from realtime.config import MAX_MESSAGE_BYTES, AuthSettings

T = TypeVar("T")

_active_lock = threading.Lock()
_active: LocalDeployment | None = None
# What clients see when the stack shuts down, as when API Gateway recycles a connection.
_SHUTDOWN_CLOSE = (1001, "Going away")
# How long a stop waits for the $disconnect of every socket it closed (moto runs them
# one at a time: about 20 ms each).
_SHUTDOWN_DISCONNECTS_SECONDS = 30.0


class LocalDeployment:
    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        access_log: bool = True,
        verbose: bool = False,
        environment: Mapping[str, str] | None = None,
        faults: FaultPlan | None = None,
        latency: LatencyModel | None = None,
        replacements: Mapping[str, Handler] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        """`port=0` picks a free port. `environment` adds to (or overrides) the
        functions' environment, e.g. {"POWERTOOLS_LOG_LEVEL": "WARNING"}. `latency`: the
        round trips the emulated services add (local/emulated/latency.py; none by default).
        `replacements`: handlers to run instead of some functions/<name> (bench/reference.py)."""
        self.host = host
        self.port = port
        self._access_log = access_log
        self._verbose = verbose
        self._extra_environment = dict(environment or {})
        self._startup_timeout = startup_timeout
        self._dynamodb = LocalDynamoDB(host)
        self._registry = ConnectionRegistry()
        self._management_api = ManagementApi(self._registry, faults)
        self._latency = latency or LatencyModel()
        self._replacements = dict(replacements or {})
        self._runtime: LambdaRuntime | None = None
        self._saved_environment: process_env.SavedEnvironment | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: socket.socket | None = None
        self._schedule: SweepSchedule | None = None
        self._bus: LocalEventBus | None = None
        self._queue: LocalFanoutQueue | None = None
        self._dashboard: DashboardSite | None = None

    # -- addresses --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{WEBSOCKET_PATH}"

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}{REST_BASE_PATH}"

    @property
    def iam_rest_url(self) -> str:
        """The REST routes for SigV4-signed callers (IAM authorization)."""
        return f"{self.base_url}{IAM_REST_BASE_PATH}"

    @property
    def token_url(self) -> str:
        """Cognito's token endpoint, for the local service's client credentials."""
        return f"{self.base_url}{LOCAL_TOKEN_PATH}"

    @property
    def dashboard_url(self) -> str:
        """The admin dashboard (add `#token=<JWT>` to sign in at once)."""
        return f"{self.base_url}/"

    @property
    def dashboard(self) -> DashboardSite:
        """The dashboard's routes, with a config.json that points the page at this stack
        (made when the stack starts, once its port is known)."""
        if self._dashboard is None:
            raise RuntimeError("the local stack is not running")
        return self._dashboard

    @property
    def dynamodb_endpoint(self) -> str:
        return self._dynamodb.endpoint

    @property
    def dynamodb_speedups_installed(self) -> bool:
        """Whether moto's process runs with local.emulated.moto_speedups (it always should)."""
        return self._dynamodb.speedups_installed

    @property
    def table_name(self) -> str:
        return LOCAL_TABLE_NAME

    @property
    def events_endpoint(self) -> str:
        """EventBridge's endpoint (PutEvents): `boto3.client("events", endpoint_url=…)`."""
        return f"{self.base_url}{EVENT_BUS_PATH}"

    @property
    def event_bus_name(self) -> str:
        return self._require_bus().settings.bus_name

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start everything; return once the server accepts connections."""
        global _active
        with _active_lock:
            if _active is not None:
                raise RuntimeError("a local stack is already running in this process (os.environ is shared)")
            _active = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        # Bound before anything else: the functions' callback URL needs the real port.
        listener = self._listener = _listen(self.host, self.port)
        self.port = listener.getsockname()[1]
        access_log.configure(enabled=self._access_log, verbose=self._verbose)
        # The functions' clients are sized for Lambda, one request per environment at a
        # time; here invocations share them, and a full pool is expected, not a problem.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
        self._dynamodb.start()
        self._dynamodb.create_table(LOCAL_TABLE_NAME)
        self._dynamodb.inject_faults(self._management_api.faults)
        environment = {**function_environment(self.port, self._dynamodb.endpoint), **self._extra_environment}
        self._saved_environment = process_env.apply(environment)
        # @connections checks signatures against the credentials the functions sign with.
        self._signatures = SigV4Verifier(
            environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"], environment["AWS_REGION"]
        )
        self._management_api.verifier = self._signatures
        self._runtime = LambdaRuntime(replacements=self._replacements)
        self._bus = LocalEventBus(BusSettings.from_environment(environment, LOCAL_ACCOUNT_ID), self._runtime)
        self.inject_latency(self._latency)
        self._bus.create_dead_letter_queue()
        workers = int(environment.get("LOCAL_FANOUT_WORKERS", "4"))
        self._queue = LocalFanoutQueue(self._dynamodb.endpoint, self._runtime, workers=workers)
        self._queue.create()
        self._dynamodb.on_sqs_send(self._queue.notify)
        self._runtime.load_all()  # every cold start happens now, so bad configuration fails fast
        gateway = Gateway(domain_name=f"{self.host}:{self.port}")
        self._dashboard = DashboardSite({"wsUrl": self.ws_url, "restUrl": self.rest_url, "auth": {"mode": "token"}})
        self._schedule = SweepSchedule(gateway, self._runtime)
        config = uvicorn.Config(
            build_app(
                gateway,
                self._runtime,
                self._registry,
                self._management_api,
                self._bus,
                iam_verifier=self._signatures,  # services sign IAM routes as the functions sign @connections
                admin_verifier=TokenVerifier(AuthSettings.from_env(environment)),  # the functions' settings
                dashboard=self._dashboard.routes(),
            ),
            http=LimitedHttpProtocol,  # 414 / 431 as API Gateway answers them (local/emulated/protocols.py)
            ws=GatewayWebSocketProtocol,  # uvicorn websockets-sansio + local/emulated/protocols.py
            ws_max_size=MAX_MESSAGE_BYTES,  # a bigger message is closed with 1009, as in AWS
            ws_per_message_deflate=False,  # API Gateway negotiates no compression either
            lifespan="off",
            access_log=False,  # its lines include the query string, where tokens travel
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, args=(config, listener), name="local-stack", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the local stack failed to start (see the log above)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the local stack did not start within {self._startup_timeout} s")
            time.sleep(0.01)

    def _serve(self, config: uvicorn.Config, listener: socket.socket) -> None:
        assert self._server is not None
        server = self._server

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            sweeps = asyncio.create_task(self._schedule.run_forever()) if self._schedule else None
            if self._queue is not None:
                self._queue.start()
            try:
                await server.serve(sockets=[listener])
            finally:
                if sweeps is not None:
                    sweeps.cancel()
                if self._queue is not None:
                    await self._queue.stop()

        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(serve())

    def stop(self) -> None:
        """Close every socket (each gets its $disconnect), stop the server and moto, and
        restore the process environment. Safe to call more than once."""
        global _active
        if self._server is not None and self._thread is not None and self._thread.is_alive():
            try:
                self._on_loop(self._registry.close_all(*_SHUTDOWN_CLOSE))
                deadline = time.monotonic() + _SHUTDOWN_DISCONNECTS_SECONDS
                while self.open_count() and time.monotonic() < deadline:
                    time.sleep(0.005)
                if self._bus is not None:
                    self._on_loop(self._bus.drain(), timeout=15)
                if self._queue is not None:
                    self._on_loop(self._queue.stop(), timeout=35)
            except (RuntimeError, TimeoutError):
                pass  # shut down regardless; uvicorn closes what is left
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._server = self._thread = self._loop = self._schedule = None
        self._bus = None
        self._queue = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        self._dynamodb.stop()
        if self._saved_environment is not None:
            process_env.restore(self._saved_environment)
            self._saved_environment = None
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- hooks for tests, benchmarks and fault injection (tests/local_deployment.py waits on them)

    def connections(self) -> list[ConnectionInfo]:
        """The open WebSockets."""
        return self._on_loop(_call(self._registry.snapshot))

    def vanish(self, connection_id: str) -> bool:
        """Drop a socket without invoking $disconnect, the way a lost $disconnect leaves
        DynamoDB in AWS: its items stay until a send finds it gone (410)."""
        return self._on_loop(self._registry.vanish(connection_id))

    def inject_faults(self, faults: FaultPlan | None = None) -> None:
        """Answer @connections calls with faults from now on (see local/emulated/faults.py);
        no argument turns them off."""
        self._management_api.faults = faults or FaultPlan()
        self._dynamodb.inject_faults(faults or FaultPlan())

    def inject_latency(self, latency: LatencyModel | None = None) -> None:
        """Make every emulated service take `latency`'s round trips from now on (see
        local/emulated/latency.py); no argument turns the model off."""
        self._latency = latency or LatencyModel()
        self._management_api.latency = self._latency
        self._dynamodb.inject_latency(self._latency)
        if self._runtime is not None:
            self._runtime.latency = self._latency
        if self._bus is not None:
            self._bus.latency = self._latency

    @property
    def latency(self) -> LatencyModel:
        return self._latency

    def sweep(self) -> Any:
        """Run the sweeper now, as its schedule does every few minutes; return its result."""
        if self._schedule is None:
            raise RuntimeError("the local stack is not running")
        return self._on_loop(self._schedule.run_once(), timeout=60)

    # -- configuration and the fan-out queue ----------------------------------------------

    def redeploy(self, environment: Mapping[str, str]) -> None:
        """Change the functions' environment, as a deployment would: every function
        cold-starts again with it (e.g. {"FANOUT_QUEUE_THRESHOLD": "5"})."""
        if self._runtime is None or self._saved_environment is None:
            raise RuntimeError("the local stack is not running")
        for name in environment:  # restored on stop like the rest
            self._saved_environment.setdefault(name, os.environ.get(name))
        self._extra_environment.update(environment)
        os.environ.update(environment)
        process_env.forget_cold_start_state()
        self._runtime.load_all()

    def fanout_queue_depth(self) -> dict[str, int]:
        """The fan-out queue: messages waiting, in flight, and dead-lettered."""
        if self._queue is None:
            raise RuntimeError("the local stack is not running")
        return self._queue.depth()

    # -- the event bus ----------------------------------------------------------------

    def events(self, detail_type: str | None = None, *, after: int = 0) -> list[dict[str, Any]]:
        """The events on the local bus (EventBridge's shape), oldest first; `after` skips
        the first ones (see `event_count`)."""
        return [event for _, event in self._require_bus().events(after=after, detail_type=detail_type)]

    def event_count(self) -> int:
        """How many events the bus has taken so far: pass it as `after` to see only newer ones."""
        kept = self._require_bus().events()
        return kept[-1][0] if kept else 0

    def dead_letters(self) -> list[dict[str, Any]]:
        """The ingestion's dead-letter queue, left as it is: {"messageId", "body", "attributes"}."""
        return self._require_bus().dead_letters()

    def _require_bus(self) -> LocalEventBus:
        if self._bus is None:
            raise RuntimeError("the local stack is not running")
        return self._bus

    def is_open(self, connection_id: str) -> bool:
        """Whether the socket is open (its $disconnect has not run yet). Safe from any
        thread: a membership test on a dict is atomic."""
        return connection_id in self._registry.sessions

    def open_count(self) -> int:
        """How many sockets are open (their $disconnect has not run yet)."""
        return len(self._registry.sessions)

    def _on_loop(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the local stack is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)


async def _call(function: Callable[[], T]) -> T:
    return function()


def _listen(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError:
        listener.close()
        raise
    listener.listen(2048)
    return listener
