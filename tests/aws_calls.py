"""Every AWS operation each function performs, recorded while the tests run it.

The integration tests invoke the handlers inside moto and the end-to-end tests run them
behind the local stack, in this process. While they do, every botocore call (its
`before-parameter-build` event) and every request of the signed @connections sender (or
of the fake that stands for it in the integration tests) is recorded as the IAM action it
needs, against the function whose invocation made it; so is every metric it emits.
tests/test_permissions_match_calls.py then compares those actions with the grants in
infra/permissions.py, function by function.

A call is attributed through a context variable set for the length of an invocation; the
fan-out's thread pool is made to carry it into its threads. Calls made outside any
invocation are the emulator's own (the local event source mappings, the local bus) and
are not counted: what Lambda itself does with a function's role is granted separately.
"""

from __future__ import annotations

import contextvars
import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.session

# IAM authorizes some operations under another action name, or item by item.
_RENAMED = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
# TransactWriteItems is authorized per item: each kind of item needs its own action.
_TRANSACTION_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
MANAGE_CONNECTIONS = "execute-api:ManageConnections"
METRIC = "metric"  # not an AWS call: a metric the function emits (written to its log as EMF)

_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("recorded_function", default=None)
# A recorder that takes this context's calls instead (CallRecorder.diverted).
_diversion: contextvars.ContextVar[CallRecorder | None] = contextvars.ContextVar("diverted_calls", default=None)


def iam_actions(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The IAM actions one API call needs: `service` is the client's signing name."""
    if (service, operation) == ("dynamodb", "TransactWriteItems"):
        return sorted({_TRANSACTION_ITEMS[kind] for item in params.get("TransactItems", []) for kind in item})
    if (service, operation) == ("dynamodb", "TransactGetItems"):
        return ["dynamodb:GetItem"]
    action = f"{service}:{operation}"
    return [_RENAMED.get(action, action)]


class CallRecorder:
    """function name → IAM action (or `execute-api:ManageConnections <METHOD>`) → count."""

    def __init__(self) -> None:
        self.calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # Set once collection is done: whether this run holds every recording suite.
        self.complete = False
        self._undo: list[Callable[[], None]] = []

    @contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        token = _function.set(function)
        try:
            yield
        finally:
            _function.reset(token)

    def record(self, action: str) -> None:
        function = _function.get()
        if function is not None:
            (_diversion.get() or self).calls[function][action] += 1

    @contextmanager
    def diverted(self) -> Iterator[CallRecorder]:
        """A scratch recorder that takes every call made in this context (and the threads it
        starts) instead of this one: for tests that call something on purpose (a mutation)
        without it counting as what the code does."""
        scratch = CallRecorder()
        token = _diversion.set(scratch)
        try:
            yield scratch
        finally:
            _diversion.reset(token)

    def actions(self, function: str) -> set[str]:
        return set(self.calls.get(function, {}))

    # -- the hooks ------------------------------------------------------------------------

    def install(self) -> None:
        """Hook botocore's client creation, the signed sender, the thread pools and the
        local Lambda runtime. Undone by `uninstall`."""
        self._patch(botocore.session.Session, "create_client", self._recording_client_factory)
        self._patch(ThreadPoolExecutor, "submit", _context_carrying_submit)
        from realtime.adapters.signed_sender import SignedManagementApiSender

        self._patch(SignedManagementApiSender, "_call", self._recording_management_call)
        # The integration tests' stand-in for that sender: each send is a POST, each close a DELETE.
        from tests.fakes import FakeSender

        self._patch(FakeSender, "send", self._recording_method("POST"))
        self._patch(FakeSender, "close", self._recording_method("DELETE"))
        # The metrics each function emits, for the monitoring's table (infra/monitoring.py).
        from aws_lambda_powertools import Metrics

        self._patch(Metrics, "add_metric", self._recording_metric)
        import local.emulated.lambdas

        self._patch(local.emulated.lambdas, "load_handler", self._recording_loader)

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def wrap(self, function: str, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """`handler`, its AWS calls attributed to `function`."""

        def invoke(event: Any, context: Any) -> Any:
            with self.invocation(function):
                return handler(event, context)

        return invoke

    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        setattr(owner, name, make(original))
        self._undo.append(lambda: setattr(owner, name, original))

    def _recording_client_factory(self, create_client: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        def create(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = create_client(session, *args, **kwargs)
            service = client.meta.service_model.signing_name

            def before(params: dict[str, Any], model: Any, **_: Any) -> None:
                for action in iam_actions(service, model.name, params):
                    recorder.record(action)

            client.meta.events.register("before-parameter-build", before)
            return client

        return create

    def _recording_management_call(self, call: Callable[..., None]) -> Callable[..., None]:
        recorder = self

        def recorded(sender: Any, method: str, connection_id: str, body: bytes) -> None:
            recorder.record(f"{MANAGE_CONNECTIONS} {method}")
            call(sender, method, connection_id, body)

        return recorded

    def _recording_method(self, method: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(call: Callable[..., Any]) -> Callable[..., Any]:
            recorder = self

            def recorded(sender: Any, *args: Any, **kwargs: Any) -> Any:
                recorder.record(f"{MANAGE_CONNECTIONS} {method}")
                return call(sender, *args, **kwargs)

            return recorded

        return make

    def _recording_metric(self, add_metric: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        def recorded(metrics: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            recorder.record(f"{METRIC} {name}")
            return add_metric(metrics, name, *args, **kwargs)

        return recorded

    def _recording_loader(self, load_handler: Callable[[str], Any]) -> Callable[[str], Any]:
        def load(name: str) -> Any:
            return self.wrap(name, load_handler(name))

        return load

    def report(self) -> str:
        return json.dumps(
            {name: dict(sorted(actions.items())) for name, actions in sorted(self.calls.items())}, indent=2
        )


def _context_carrying_submit(submit: Callable[..., Future[Any]]) -> Callable[..., Future[Any]]:
    """Work handed to a thread pool runs in the submitter's context, as the fan-out's sends
    run on behalf of the invocation that submitted them."""

    def carrying(executor: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return submit(executor, contextvars.copy_context().run, fn, *args, **kwargs)

    return carrying


RECORDER = CallRecorder()


# -- which run recorded enough ----------------------------------------------------------------

TESTS_DIR = Path(__file__).resolve().parent
RECORDING_SUITES = ("integration", "e2e")


def covers_every_recording_suite(items: list[Any], deselected: int) -> bool:
    """True when this run holds every test of the suites that exercise the handlers (no
    file left out, nothing deselected): only then is an unused grant really unused."""
    if deselected:
        return False
    collected = {Path(str(item.path)).resolve() for item in items}
    on_disk = {path.resolve() for suite in RECORDING_SUITES for path in (TESTS_DIR / suite).glob("test_*.py")}
    return on_disk <= collected


# -- the comparison ---------------------------------------------------------------------------


def _calls(recorder: CallRecorder, function: str) -> set[str]:
    return {action for action in recorder.actions(function) if not action.startswith(METRIC)}


def ungranted_calls(recorder: CallRecorder, grants: Mapping[Any, Any], function: str) -> set[str]:
    """What `function` called that its row does not grant."""
    return _calls(recorder, function) - grants[function].actions()


def unused_grants(recorder: CallRecorder, grants: Mapping[Any, Any], function: str) -> set[str]:
    """What `function`'s row grants that it never called."""
    return grants[function].actions() - _calls(recorder, function)
