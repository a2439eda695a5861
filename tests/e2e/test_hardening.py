"""The hardening review's reproducers, against the running stack: each failed on the
main branch before the fix."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from realtime.config import MAX_MESSAGE_BYTES
from tests.e2e.support import TIMEOUT, Clients, bearer, deployed_with, rest, subscribe, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


def deep(levels: int) -> dict:
    value: dict = {"a": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


# -- an accepted publish never breaks readers --------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"userId": "u", "action": "a", "details": deep(200)}),
        json.dumps({"userId": "u", "action": "a", "details": deep(300)}),
        '{"userId":"u","action":"a","details":{"n":' + "9" * 5000 + "}}",
        '{"userId":"u","action":"a","details":{"n":NaN}}',
        '{"userId":"u","action":"a","details":{"n":1e999}}',
    ],
    ids=["200 levels", "300 levels", "5000 digits", "NaN", "overflow"],
)
async def test_payloads_a_reader_cannot_read_back_are_refused_on_every_face(
    stack: ObservedDeployment, body: str
) -> None:
    async with rest(stack) as http, Clients(stack) as clients:
        response = await http.post("/notify/user-action", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "ValidationError"
        assert response.json()["errors"][0]["type"] in {"depth", "int_range", "finite_number"}

        dashboard = await clients.open()
        frame = '{"action":"publish","group":"user-activity","type":"UserAction","data":' + body + "}"
        await dashboard.send(frame)
        reply = await dashboard.receive()
        assert (reply["type"], reply["code"]) == ("Error", "ValidationError"), reply

        # Every reader still works.
        assert (await http.get("/groups/user-activity/history")).status_code == 200
        assert (await http.get("/platform-snapshot")).status_code == 200
        stats = await dashboard.request({"action": "getPlatformStats"})
        assert stats["type"] == "PlatformStats"


async def test_the_limits_themselves_publish_and_read_back(stack: ObservedDeployment) -> None:
    data = {"userId": "u", "action": "a", "details": deep(31), "n": 2**53 - 1}  # 32 levels below data
    data.pop("n")
    async with rest(stack) as http, Clients(stack) as clients:
        dashboard = await clients.open()
        since = await subscribe(dashboard, "user-activity")
        response = await http.post("/notify/user-action", json=data)
        assert response.status_code == 200, response.text
        delivered = await dashboard.receive()
        assert delivered["data"]["details"] == deep(31)
        history = (await http.get("/groups/user-activity/history", params={"after": since})).json()
        assert history["items"][0]["data"]["details"] == deep(31)


# -- bad input gets a documented answer ---------------------------------------------------


async def test_rest_bodies_that_are_not_json_get_the_error_shape(stack: ObservedDeployment) -> None:
    async with rest(stack) as http:
        response = await http.post(
            "/alert", content=b'{"title":"\xff","message":"m"}', headers={"Content-Type": "application/json"}
        )
        assert (response.status_code, response.json()["code"]) == (422, "ValidationError")
        for content_type in ("text/plain", "multipart/form-data", "application/x-www-form-urlencoded"):
            response = await http.post("/alert", content=b"title=t", headers={"Content-Type": content_type})
            assert (response.status_code, response.json()["code"]) == (415, "UnsupportedMediaType"), content_type
        for method in ("PUT", "PATCH", "DELETE"):
            response = await http.request(method, "/alert", json={"title": "t", "message": "m"})
            assert (response.status_code, response.json()["code"]) == (405, "MethodNotAllowed"), method
            assert response.headers["allow"] == "POST"


async def test_error_answers_are_bounded_whatever_the_input(stack: ObservedDeployment) -> None:
    async with rest(stack) as http, Clients(stack) as clients:
        dashboard = await clients.open()
        await dashboard.send(json.dumps({"action": "é" * 60_000}, ensure_ascii=False))  # 120 KB
        reply = await dashboard.receive()
        assert reply["code"] == "UnknownAction" and len(json.dumps(reply)) < 2_000
        many = {f"unknown-{i}": 1 for i in range(900)} | {"title": "t", "message": "m"}
        await dashboard.send(json.dumps({"action": "publish", "group": "alerts", "type": "Alert", "data": many}))
        reply = await dashboard.receive()
        assert reply["code"] == "ValidationError" and len(reply["errors"]) == 20
        assert len(json.dumps(reply)) < 10_000
        response = await http.post("/alert", json={f"k{i}": 1 for i in range(900)})
        assert response.status_code == 422 and len(response.content) < 10_000
        assert response.json()["errors"][-1]["type"] == "too_many_errors"


# -- identity rules -----------------------------------------------------------------------


async def test_an_empty_or_oversized_sub_is_refused_on_both_faces(stack: ObservedDeployment) -> None:
    async with httpx.AsyncClient(base_url=stack.rest_url, timeout=TIMEOUT) as http:
        for sub in ("", "a" * 3000):
            response = await http.get("/platform-snapshot", headers=bearer(token(sub)))
            assert (response.status_code, response.json()["code"]) == (401, "Unauthorized")


# -- expired tokens do not keep a socket ---------------------------------------------------


async def test_a_socket_whose_token_expired_is_refused_and_closed(stack: ObservedDeployment) -> None:
    # The handshake admits a token up to its leeway (30 s) past exp; with no grace on the
    # socket, its first action is refused and the socket closed.
    with deployed_with(stack, TOKEN_EXPIRY_GRACE_SECONDS="0"):
        async with Clients(stack) as clients:
            dashboard = await clients.open(token(ttl_seconds=-5))
            connection_id = clients.connection_id(dashboard)
            reply = await dashboard.request({"action": "subscribe", "group": "alerts", "requestId": "late"})
            assert (reply["type"], reply["code"], reply["requestId"]) == ("Error", "Unauthorized", "late")
            assert await dashboard.wait_closed() == 1000
            await asyncio.to_thread(stack.wait_gone, connection_id)


async def test_refresh_keeps_a_socket_whose_token_expires(stack: ObservedDeployment) -> None:
    with deployed_with(stack, TOKEN_EXPIRY_GRACE_SECONDS="0"):
        async with Clients(stack) as clients:
            dashboard = await clients.open(token(ttl_seconds=-5))
            reply = await dashboard.request({"action": "refresh", "token": token(ttl_seconds=600), "requestId": "r"})
            assert (reply["type"], reply["requestId"]) == ("Refreshed", "r"), reply
            assert reply["expiresAt"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            assert (await dashboard.request({"action": "subscribe", "group": "alerts"}))["type"] == "Subscribed"
            refused = await dashboard.request({"action": "refresh", "token": token("mallory")})
            assert (refused["type"], refused["code"]) == ("Error", "Forbidden")
            invalid = await dashboard.request({"action": "refresh", "token": "garbage"})
            assert (invalid["type"], invalid["code"]) == ("Error", "Unauthorized")
            assert (await dashboard.request({"action": "ping"}))["type"] == "Pong"  # still open


async def test_an_admin_closes_a_connection_or_every_connection_of_a_user(stack: ObservedDeployment) -> None:
    async with rest(stack) as http, Clients(stack) as clients:
        first, second = await clients.open_many(2, token("target"))
        other = await clients.open(token("bystander"))
        victim, second_id = clients.connection_id(first), clients.connection_id(second)
        response = await http.delete(f"/connections/{victim}")
        assert response.status_code == 200 and response.json() == {
            "connectionId": victim,
            "userId": "target",
            "closed": True,
        }
        assert await first.wait_closed() == 1000
        response = await http.delete(f"/connections/{victim}")
        assert (response.status_code, response.json()["code"]) == (404, "UnknownConnection")
        response = await http.delete("/users/target/connections")
        assert response.status_code == 200 and response.json()["closed"] == [second_id]
        assert await second.wait_closed() == 1000
        assert (await other.request({"action": "ping"}))["type"] == "Pong"
        viewer = httpx.AsyncClient(base_url=stack.rest_url, headers=bearer(token("v", ("viewer",))), timeout=TIMEOUT)
        async with viewer:
            assert (await viewer.delete("/users/bystander/connections")).status_code == 403


# -- rate limits --------------------------------------------------------------------------


async def test_a_flooding_connection_is_rate_limited_and_stays_open(stack: ObservedDeployment) -> None:
    with deployed_with(stack, ACTION_RATE_PER_SECOND="1", ACTION_BURST="5"):
        async with Clients(stack) as clients:
            dashboard = await clients.open()
            replies = [await dashboard.request({"action": "ping", "requestId": str(i)}) for i in range(8)]
            limited = [reply for reply in replies if reply["type"] == "Error"]
            assert limited and all(reply["code"] == "RateLimited" and reply["retryAfter"] > 0 for reply in limited)
            assert [reply["requestId"] for reply in replies] == [str(i) for i in range(8)]
            await asyncio.sleep(limited[-1]["retryAfter"] + 0.1)
            assert (await dashboard.request({"action": "ping"}))["type"] == "Pong"


async def test_resume_amplification_is_bounded_by_the_replay_budget(stack: ObservedDeployment) -> None:
    if time.time() % 60 > 50:  # the budget is per minute: run the cycles within one
        await asyncio.sleep(60 - time.time() % 60 + 0.2)
    with deployed_with(stack, REPLAY_MESSAGES_PER_MINUTE="30"):
        async with rest(stack) as http, Clients(stack) as clients:
            dashboard = await clients.open()
            joined = await dashboard.request({"action": "subscribe", "group": "alerts"})
            since, epoch = joined["seq"], joined["epoch"]  # other tests may have published before
            await dashboard.request({"action": "unsubscribe", "group": "alerts"})
            for _ in range(10):
                assert (await http.post("/alert", json={"title": "t", "message": "m"})).status_code == 200
            answers = []
            for _ in range(5):  # each cycle asks for the same 10 messages again
                frame = {"action": "subscribe", "group": "alerts", "since": since, "epoch": epoch}
                reply = await dashboard.request(frame)
                answers.append(reply)
                if reply["type"] == "Subscribed":
                    for _ in range(10):
                        await dashboard.receive()
                    await dashboard.request({"action": "unsubscribe", "group": "alerts"})
            assert [a["type"] for a in answers] == ["Subscribed"] * 3 + ["Error"] * 2
            assert answers[-1]["code"] == "RateLimited" and 0 < answers[-1]["retryAfter"] <= 60


async def test_an_oversized_error_never_exceeds_a_websocket_message(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        dashboard = await clients.open()
        data = {"title": "t", "message": "m", **{f"{'x' * 250}{i}": 1 for i in range(400)}}
        frame = json.dumps({"action": "publish", "group": "alerts", "type": "Alert", "data": data})
        assert len(frame) < MAX_MESSAGE_BYTES
        await dashboard.send(frame)
        reply = await dashboard.receive()
        assert reply["code"] == "ValidationError" and len(json.dumps(reply)) < 20_000


async def test_a_503_says_when_to_retry(stack: ObservedDeployment) -> None:
    from local.emulated.faults import FaultPlan

    async with rest(stack) as http:
        stack.inject_faults(FaultPlan(dynamodb_throttle_rate=1.0))
        try:
            # botocore retries each throttled call with backoff before the 503: give it time.
            response = await http.post("/alert", json={"title": "t", "message": "m"}, timeout=60)
        finally:
            stack.inject_faults()
        assert (response.status_code, response.json()["code"]) == (503, "ServiceUnavailable")
        assert response.headers["retry-after"] == "1"
