"""Each function is granted exactly the table actions, @connections methods, SQS actions
and EventBridge actions its code paths use, derived from the code
(tests/infra/code_paths.py) rather than listed twice.

A new DynamoDB, SQS or EventBridge call, transaction item kind or use case reached from a
handler fails this test until infra/permissions.py grants it to that function; a grant no
path of the function uses fails it too. test_template.py checks that the roles in the
templates carry exactly infra/permissions.py's grants, on exactly the right resources.
The analysis itself is tested last, on small programs written for the purpose.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from infra.config import FUNCTION_NAMES, FunctionName
from infra.functions import SPECS
from infra.paths import FUNCTIONS_DIR, LAYER_PYTHON_DIR
from infra.permissions import BUS_ACTIONS, MANAGEMENT_API_METHODS, QUEUE_ACTIONS, TABLE_ACTIONS
from tests.infra.code_paths import SERVICES, Analysis, Program, analysis

_HUB = "realtime.domain.hub"


def test_every_function_has_a_handler_a_spec_and_grants() -> None:
    names = set(FUNCTION_NAMES)
    assert set(analysis().program.functions) == names
    assert {spec.name for spec in SPECS} == names
    assert set(TABLE_ACTIONS) == set(MANAGEMENT_API_METHODS) == set(QUEUE_ACTIONS) == set(BUS_ACTIONS) == names


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_table_grants_are_what_the_code_paths_use(function: FunctionName) -> None:
    reach = analysis().function(function)
    assert not reach.ambiguous, "type these receivers (see code_paths.py)"
    assert reach.table_actions == set(TABLE_ACTIONS[function])


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_connection_grants_are_what_the_code_paths_use(function: FunctionName) -> None:
    assert analysis().function(function).management_api_methods == set(MANAGEMENT_API_METHODS[function])


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_queue_grants_are_what_the_code_paths_use(function: FunctionName) -> None:
    assert analysis().function(function).queue_actions == set(QUEUE_ACTIONS[function])


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_bus_grants_are_what_the_code_paths_use(function: FunctionName) -> None:
    assert analysis().function(function).bus_actions == set(BUS_ACTIONS[function])


def test_the_analysis_models_every_service_the_code_calls() -> None:
    """A client of another service (`boto3.client("s3")`) or requests signed for another
    one would be calls no grant here covers: extend code_paths.SERVICES (and the stack)."""
    program = analysis().program
    assert program.created_services() <= set(SERVICES)
    assert set(program.signing.values()) <= set(SERVICES)


def test_the_sweep_needs_the_cursor_the_minute_queries_and_a_disconnect() -> None:
    # Traced by hand: expired_connections reads the cursor (GetItem), Queries each minute
    # since it and writes the cursor (PutItem); remove_connection Queries the connection's
    # items, commits Deletes and counter Updates, and deletes per-user counters at zero.
    sweep = analysis().entry(_HUB, "RealtimeHub.sweep_expired")
    assert sweep.table_actions == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:DeleteItem",
        "dynamodb:UpdateItem",
    }
    assert sweep.transaction_items == {"Delete", "Update"}
    assert sweep.management_api_methods == {"DELETE"}  # it closes what it removes, never sends
    assert f"{_HUB}.RealtimeHub.sweep_expired" in analysis().function("sweeper").code


def test_publishing_appends_history_in_a_transaction_and_is_idempotent() -> None:
    publish = analysis().entry(_HUB, "RealtimeHub.publish")
    # group_state (GetItem, UpdateItem on first use), append (Update + Put + Delete),
    # save_latest (PutItem), members or a user's connections (Query).
    assert {"Update", "Put", "Delete"} <= publish.transaction_items
    assert "ConditionCheck" not in publish.transaction_items
    assert publish.management_api_methods == {"POST"}
    # Keyed publishes go through Powertools' persistence layer, in the same table.
    once = analysis().entry(_HUB, "RealtimeHub.once")
    assert once.table_actions == {
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    for function in ("message", "rest_api"):
        assert "realtime.idempotency.IdempotentRunner.run" in analysis().function(function).code


def test_only_the_websocket_subscribes() -> None:
    users = {
        name for name in FUNCTION_NAMES if "dynamodb:ConditionCheckItem" in analysis().function(name).table_actions
    }
    assert users == {"message"}


def test_every_port_is_implemented_by_adapters_only() -> None:
    """Each port of the domain stands for its adapters (a null object included), never for
    a use case that happens to share a method name with it (RealtimeHub.publish is no
    EventPublisher.publish)."""
    program = analysis().program
    ports = [cls for cls in program.classes.values() if cls.protocol and cls.module == "realtime.domain.ports"]
    assert {cls.qualname.rpartition(".")[2] for cls in ports} >= {"ConnectionRepository", "Sender", "Clock"}
    for port in ports:
        implementations = program.implementations(port.qualname)
        assert implementations, port.qualname
        assert not [name for name in implementations if name.startswith("realtime.domain.")], port.qualname


# -- the analysis notices changes to the code (run on a copy of it) -----------------------------


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    layer, functions = tmp_path / "layer", tmp_path / "functions"
    shutil.copytree(LAYER_PYTHON_DIR / "realtime", layer / "realtime", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(FUNCTIONS_DIR, functions, ignore=shutil.ignore_patterns("__pycache__"))
    return layer, functions


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_a_new_call_on_one_path_changes_only_the_functions_on_it(tmp_path: Path) -> None:
    layer, functions = _copy(tmp_path)
    # connection_count (REST /status) starts scanning: only rest_api reaches it.
    _edit(
        layer / "realtime/adapters/dynamodb/connections.py",
        '        item = self._get(STATS_PK, META, projection="connections")\n',
        "        self._client.scan(TableName=self._table)\n"
        '        item = self._get(STATS_PK, META, projection="connections")\n',
    )
    changed = Analysis(Program(layer, functions))
    for function in FUNCTION_NAMES:
        expected = set(TABLE_ACTIONS[function]) | ({"dynamodb:Scan"} if function == "rest_api" else set())
        assert changed.function(function).table_actions == expected, function


def test_a_new_transaction_item_kind_is_noticed(tmp_path: Path) -> None:
    layer, functions = _copy(tmp_path)
    # The disconnect transaction also checks a condition on the counters' item.
    _edit(
        layer / "realtime/adapters/dynamodb/connections.py",
        '                self._add(STATS_PK, META, "connections", -1),\n            ]\n',
        '                self._add(STATS_PK, META, "connections", -1),\n'
        '                self._check(STATS_PK, "LIMIT", "attribute_not_exists(pk)"),\n            ]\n',
    )
    changed = Analysis(Program(layer, functions))
    # Every function that can remove a connection now needs ConditionCheckItem: disconnect,
    # the sweeper, and the ones that deliver (410 clean-up); connect never removes one.
    needs = {name for name in FUNCTION_NAMES if "dynamodb:ConditionCheckItem" in changed.function(name).table_actions}
    assert needs == {"disconnect", "fanout_worker", "ingest", "message", "rest_api", "sweeper"}


def test_a_new_use_case_call_in_a_handler_is_followed(tmp_path: Path) -> None:
    layer, functions = _copy(tmp_path)
    # The sweeper starts publishing a heartbeat: it would need the publish path's grants.
    _edit(
        functions / "sweeper/handler.py",
        '    return {"removed": hub.sweep_expired()}',
        '    hub.publish_request(None, None)\n    return {"removed": hub.sweep_expired()}',
    )
    sweeper = Analysis(Program(layer, functions)).function("sweeper")
    assert f"{_HUB}.RealtimeHub.publish" in sweeper.code
    assert sweeper.management_api_methods == {"DELETE", "POST"}  # fan-out's POST: not granted to the sweeper


# -- the analysis, on programs written for the purpose --------------------------------------------

_ADAPTERS_SOURCE = """
    from typing import Any, Protocol

    import boto3


    class Port(Protocol):
        def publish(self, events: list[str]) -> None: ...


    class Bus:
        def __init__(self, client: Any) -> None:
            self._client = client

        def publish(self, events: list[str]) -> None:
            self._client.put_events(Entries=[{"Detail": event} for event in events])


    class Queue:
        def __init__(self, client: Any) -> None:
            self._client = client

        def send(self, bodies: list[str]) -> None:
            self._client.send_message_batch(QueueUrl="q", Entries=bodies)

        def drop(self, handle: str) -> None:
            self._client.delete_message(QueueUrl="q", ReceiptHandle=handle)


    class Connections:
        # delete_connection is an operation of the @connections API and of EventBridge:
        # post_to_connection, called on the same client, says which.
        def __init__(self, client: Any) -> None:
            self._client = client

        def send(self, connection_id: str) -> None:
            self._client.post_to_connection(ConnectionId=connection_id, Data=b"")

        def close(self, connection_id: str) -> None:
            self._client.delete_connection(ConnectionId=connection_id)


    class Mystery:
        def __init__(self, client: Any) -> None:
            self._client = client

        def forget(self, name: str) -> None:
            self._client.delete_connection(Name=name)  # nothing says which service


    def tag_queue() -> None:
        sqs_client = boto3.client("sqs")
        sqs_client.tag_queue(QueueUrl="q", Tags={})
"""

_SIGNED_SOURCE = """
    from collections import deque

    SERVICE = "execute-api"


    class _Socket:
        def close(self) -> None: ...


    class Signed:
        def __init__(self) -> None:
            self._idle: deque[_Socket] = deque()

        def send(self, connection_id: str) -> None:
            self._call("POST", connection_id)

        def close(self, connection_id: str) -> None:
            self._call("DELETE", connection_id)

        def shutdown(self) -> None:
            for idle in self._idle:
                idle.close()  # a _Socket's close, not this class's
            while self._idle:
                self._idle.pop().close()  # the same

        def _call(self, method: str, connection_id: str) -> None: ...
"""

_HUB_SOURCE = """
    from typing import Any

    from realtime.adapters import Bus, Connections, Mystery, Port, Queue, tag_queue
    from realtime.signed import Signed


    class Hub:
        def __init__(self, events: Port, client: Any) -> None:
            self.events = events
            self.queue = Queue(client)
            self.connections = Connections(client)
            self.signed = Signed()

        def publish(self, group: str, data: Any) -> None:  # not a Port.publish: other arguments
            self.queue.send([data])
            self.connections.send(group)

        def connect(self) -> None:
            self.events.publish(["opened"])

        def stop(self) -> None:
            self.signed.shutdown()
"""


def _program(tmp_path: Path, handlers: dict[str, str], **modules: str) -> Analysis:
    layer, functions = tmp_path / "layer", tmp_path / "functions"
    sources = {"__init__": "", "adapters": _ADAPTERS_SOURCE, "signed": _SIGNED_SOURCE, "hub": _HUB_SOURCE, **modules}
    for name, source in sources.items():
        path = layer / "realtime" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    for name, body in handlers.items():
        (functions / name).mkdir(parents=True)
        handler = f"from realtime.hub import Hub\n\nhub = Hub(None, None)\n\n\ndef handler(event, context):\n{body}\n"
        (functions / name / "handler.py").write_text(handler)
    return Analysis(Program(layer, functions))


def test_sqs_and_eventbridge_calls_become_their_iam_actions(tmp_path: Path) -> None:
    program = _program(
        tmp_path,
        {
            "connect": "    hub.connect()",
            "publish": "    hub.publish('g', 1)",
            "consume": "    from realtime.adapters import Queue\n    Queue(None).drop('h')",
            "tag": "    from realtime.adapters import tag_queue\n    tag_queue()",
        },
    )
    connect = program.function("connect")
    # Port.publish is Bus.publish only: Hub.publish takes other arguments.
    assert connect.bus_actions == {"events:PutEvents"}
    assert not connect.queue_actions and not connect.management_api_methods
    publish = program.function("publish")
    assert publish.queue_actions == {"sqs:SendMessage"}  # SendMessageBatch is authorized as SendMessage
    assert publish.management_api_methods == {"POST"}
    assert not publish.bus_actions
    assert program.function("consume").queue_actions == {"sqs:DeleteMessage"}
    # A client created by name in the same code is that service's.
    assert program.function("tag").queue_actions == {"sqs:TagQueue"}
    assert program.program.created_services() == {"sqs"}
    for name in ("connect", "publish", "consume", "tag"):
        assert not program.function(name).ambiguous, name


def test_an_operation_of_several_services_goes_by_the_other_calls_on_its_client(tmp_path: Path) -> None:
    program = _program(
        tmp_path,
        {
            "close": "    from realtime.adapters import Connections\n    Connections(None).close('c')",
            "forget": "    from realtime.adapters import Mystery\n    Mystery(None).forget('n')",
        },
    )
    close = program.function("close")
    assert close.management_api_methods == {"DELETE"}
    assert not close.bus_actions and not close.ambiguous
    # Nothing says which service's DeleteConnection this is: reported, so the test fails.
    forget = program.function("forget")
    assert not forget.calls
    assert forget.ambiguous == {"realtime.adapters.Mystery.forget: self._client.delete_connection: an operation of "
                                "apigatewaymanagementapi, events"}  # fmt: skip


def test_requests_signed_for_execute_api_are_connection_calls(tmp_path: Path) -> None:
    program = _program(
        tmp_path,
        {
            "send": "    from realtime.signed import Signed\n    Signed().send('c')",
            "close": "    from realtime.signed import Signed\n    Signed().close('c')",
            "stop": "    hub.stop()",
        },
    )
    assert program.program.signing == {"realtime.signed": "apigatewaymanagementapi"}
    assert program.function("send").management_api_methods == {"POST"}
    assert program.function("close").management_api_methods == {"DELETE"}
    # What a container holds comes from its annotation: `self._idle.pop()` and the loop's
    # `idle` are _Sockets, whose close sends nothing (without the annotation they would
    # reach every `close`).
    stop = program.function("stop")
    assert "realtime.signed._Socket.close" in stop.code
    assert "realtime.signed.Signed.close" not in stop.code
    assert not stop.management_api_methods
