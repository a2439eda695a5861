"""The `realtime-hub` CLI against the local stack, run as operators run it: a separate
process (`python -m realtime_hub`), configured by flags and the environment. `tail` is
stopped with SIGINT, as Ctrl-C does."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import Clients, subscribe, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WAIT = 20.0  # bound on any one wait for the process (not a timing assertion)


def environment(stack: ObservedDeployment, jwt: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALTIME_HUB_")}
    paths = [ROOT / "layers" / "realtime" / "python", ROOT, ROOT / "clients" / "python" / "src"]
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    env["REALTIME_HUB_REST_URL"] = stack.rest_url
    env["REALTIME_HUB_WS_URL"] = stack.ws_url
    env["REALTIME_HUB_CONFIG"] = "/nonexistent/realtime-hub.toml"
    if jwt is not None:
        env["REALTIME_HUB_TOKEN"] = jwt
    env.update(extra)
    return env


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "realtime_hub", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


class Tail:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.status: list[str] = []

    async def envelope(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), WAIT)
        assert line, f"tail ended: {self.status}"
        envelope: dict[str, Any] = json.loads(line)
        return envelope

    async def status_line(self, *starting: str) -> None:
        """Read status lines (stderr) until one starting with each of `starting` was seen."""
        assert self.process.stderr is not None
        awaited = set(starting)
        while awaited:
            line = (await asyncio.wait_for(self.process.stderr.readline(), WAIT)).decode()
            assert line, f"tail ended: {self.status}"
            self.status.append(line)
            awaited = {prefix for prefix in awaited if not line.removeprefix("realtime-hub: ").startswith(prefix)}

    async def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return await asyncio.wait_for(self.process.wait(), WAIT)


# A process started in the background by a shell without job control (a CI runner, `make
# test &`) inherits SIGINT ignored, and Python then keeps it ignored: the CLI would never see
# the Ctrl-C this test sends. As in a terminal, the child starts with Python's own handler.
_AS_FROM_A_TERMINAL = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'realtime-hub'; runpy.run_module('realtime_hub', run_name='__main__', alter_sys=True)"
)


@asynccontextmanager
async def tail(env: dict[str, str], *args: str) -> AsyncIterator[Tail]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _AS_FROM_A_TERMINAL, "tail", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield Tail(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def last_seq(stack: ObservedDeployment, group: str) -> int:
    async with httpx.AsyncClient(base_url=stack.rest_url, headers={"Authorization": f"Bearer {token()}"}) as http:
        seq: int = (await http.get(f"/groups/{group}")).json()["lastSeq"]
        return seq


async def test_publish_prints_the_answer_and_tail_prints_the_envelope(stack: ObservedDeployment) -> None:
    env = environment(stack, token("cli-ops"))
    async with tail(env, "alerts") as tailing:
        await tailing.status_line("subscribed to alerts")
        code, out, _ = await cli(
            env, "--json", "publish", "Alert", "--group", "alerts", "title=Disk", "message=91% full",
            "severity=warning", "--idempotency-key", f"cli-{uuid.uuid4()}",
        )  # fmt: skip
        assert code == 0
        answer = json.loads(out)
        assert answer["group"] == "alerts" and answer["type"] == "Alert" and answer["recipients"] >= 1
        envelope = await tailing.envelope()
        assert envelope["id"] == answer["id"] and envelope["seq"] == answer["seq"]
        assert envelope["data"] == {"title": "Disk", "message": "91% full", "severity": "warning"}

        # key:=json for numbers, --data for a whole object, the type's default group
        code, out, _ = await cli(env, "publish", "PerformanceAlert", "metric=p99", "value:=912", "threshold:=500")
        assert code == 0 and json.loads(out)["group"] == "alerts"
        assert (await tailing.envelope())["data"] == {"metric": "p99", "value": 912, "threshold": 500}
        code, out, _ = await cli(env, "publish", "Alert", "--data", '{"title":"a","message":"b"}', "source=cli")
        assert code == 0
        assert (await tailing.envelope())["data"] == {"title": "a", "message": "b", "severity": "info", "source": "cli"}
        assert await tailing.interrupt() == 130


async def test_tail_survives_a_server_side_drop_without_gap_or_duplicate(stack: ObservedDeployment) -> None:
    user = f"cli-tail-{uuid.uuid4().hex[:8]}"
    env = environment(stack, token(user))
    publisher = environment(stack, token("cli-publisher"))
    start = await last_seq(stack, "alerts")
    async with Clients(stack) as clients, tail(env, "alerts", "analytics") as tailing:
        await tailing.status_line("subscribed to alerts", "subscribed to analytics")
        witness = await clients.open()  # a dashboard that sees every message once, for comparison
        await subscribe(witness, "alerts")
        for i in range(2):
            assert (await cli(publisher, "publish", "Alert", "title=t", f"message=before {i}"))[0] == 0
        seen = [(await tailing.envelope())["seq"] for _ in range(2)]

        code, out, _ = await cli(env, "--json", "--token", token("cli-admin"), "stats")
        assert code == 0 and json.loads(out)["connections"] >= 2
        async with httpx.AsyncClient(base_url=stack.rest_url, headers={"Authorization": f"Bearer {token()}"}) as http:
            closed = (await http.delete(f"/users/{user}/connections")).json()["closed"]
        assert len(closed) == 1
        for i in range(3):  # while tail is disconnected or reconnecting
            assert (await cli(publisher, "publish", "Alert", "title=t", f"message=during {i}"))[0] == 0
        await tailing.status_line("connection closed by the hub")
        await tailing.status_line("resumed alerts")
        for _ in range(3):
            seen.append((await tailing.envelope())["seq"])
        assert (await cli(publisher, "publish", "Alert", "title=t", "message=after"))[0] == 0
        seen.append((await tailing.envelope())["seq"])
        assert seen == list(range(start + 1, start + 7))
        assert [(await witness.receive())["seq"] for _ in range(6)] == seen
        assert await tailing.interrupt() == 130


async def test_tail_since_prints_the_stored_messages_first(stack: ObservedDeployment) -> None:
    env = environment(stack, token("cli-since"))
    start = await last_seq(stack, "user-activity")
    for i in range(3):
        code, _, _ = await cli(env, "publish", "UserAction", f"userId=u{i}", "action=login")
        assert code == 0
    async with tail(env, "--since", str(start + 1), "user-activity") as tailing:
        await tailing.status_line("subscribed to user-activity")
        assert (await cli(env, "publish", "UserAction", "userId=u3", "action=logout"))[0] == 0
        envelopes = [await tailing.envelope() for _ in range(3)]
        assert [e["seq"] for e in envelopes] == [start + 2, start + 3, start + 4]
        assert [e["data"]["userId"] for e in envelopes] == ["u1", "u2", "u3"]
        assert await tailing.interrupt() == 130

    code, out, _ = await cli(env, "--json", "history", "user-activity", "--after", str(start))
    assert code == 0
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [start + 1, start + 2, start + 3, start + 4]
    code, out, _ = await cli(env, "history", "user-activity", "--after", str(start), "--limit", "2")
    assert code == 0 and len(out.splitlines()) == 2 and "UserAction" in out


async def test_reading_commands_for_people_and_machines(stack: ObservedDeployment) -> None:
    env = environment(stack, token("cli-reader"))
    code, out, _ = await cli(env, "--json", "presence", "alerts")
    assert code == 0 and json.loads(out)["group"] == "alerts" and "lastSeq" in json.loads(out)
    code, out, _ = await cli(env, "presence", "alerts")
    assert code == 0 and out.startswith("alerts: ") and "last seq" in out
    code, out, _ = await cli(env, "stats")
    assert code == 0 and out.startswith("connections: ") and "GROUP" in out
    # Flags win over the environment.
    code, out, _ = await cli(env, "presence", "alerts", "--rest-url", stack.rest_url, "--token", token("cli-flag"))
    assert code == 0


async def test_token_mints_a_local_token_the_hub_accepts(stack: ObservedDeployment) -> None:
    env = environment(stack)
    code, out, _ = await cli(env, "token", "--sub", "cli-minted", "--roles", "admin,ops")
    assert code == 0
    minted = out.strip()
    async with httpx.AsyncClient(base_url=stack.rest_url, headers={"Authorization": f"Bearer {minted}"}) as http:
        me = (await http.get("/me")).json()
    assert me["userId"] == "cli-minted" and sorted(me["roles"]) == ["admin", "ops"]
    # Without credentials against a loopback URL, the CLI mints a local admin token itself.
    code, out, _ = await cli(env, "--json", "presence", "alerts")
    assert code == 0 and json.loads(out)["group"] == "alerts"


async def test_exit_codes(stack: ObservedDeployment) -> None:
    env = environment(stack, token("cli-codes"))  # (more usage errors: tests/unit/test_python_client_cli.py)
    code, _, err = await cli(env, "publish", "Alert", "title=only a title")  # the model refuses it: nothing sent
    assert code == 2 and "message: Field required" in err
    code, _, err = await cli(env, "--json", "publish", "Alert", "--group", "no-such-group", "title=t", "message=m")
    assert code == 1 and json.loads(err)["code"] == "UnknownGroup"
    code, _, err = await cli(env, "--token", "not-a-jwt", "presence", "alerts")
    assert code == 1 and "Unauthorized" in err
    code, _, err = await cli(env, "--token", token("cli-nobody", roles=()), "tail", "alerts")
    assert code == 1 and "Forbidden" in err

    unreachable = "http://127.0.0.1:9/api/admin/realtime"  # the discard port: nothing listens
    code, _, err = await cli(env, "--rest-url", unreachable, "presence", "alerts")
    assert code == 3 and "ConnectError" in err
