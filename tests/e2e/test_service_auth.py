"""Services publishing as services, against the local stack: OAuth2 client credentials
(the local token endpoint, as Cognito's; scopes mapped to least-privilege roles) and IAM
(SigV4-signed calls to the IAM routes, verified against the local credentials)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from botocore.credentials import Credentials

from local.runner.settings import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_IAM_PRINCIPAL,
    LOCAL_REGION,
    LOCAL_SECRET_ACCESS_KEY,
    LOCAL_SERVICE_CLIENT_ID,
    LOCAL_SERVICE_CLIENT_SECRET,
)
from local.tools.tokens import mint_service_token, mint_token
from realtime.domain import event_types as et
from realtime_hub import AsyncHub, ClientCredentials, Forbidden, NotFound, SigV4
from realtime_hub.errors import ApiError
from tests.e2e.support import Clients, subscribe
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

ALERT = et.Alert(title="Queue depth", message="orders: 12,000 waiting", severity="warning")


def service(stack: ObservedDeployment, *scopes: str) -> AsyncHub:
    auth = ClientCredentials(stack.token_url, LOCAL_SERVICE_CLIENT_ID, LOCAL_SERVICE_CLIENT_SECRET, scopes=scopes)
    return AsyncHub(stack.rest_url, auth=auth, timeout=10)


def signed(stack: ObservedDeployment, secret: str = LOCAL_SECRET_ACCESS_KEY) -> AsyncHub:
    auth = SigV4(LOCAL_REGION, credentials=Credentials(LOCAL_ACCESS_KEY_ID, secret))
    return AsyncHub(stack.iam_rest_url, auth=auth, timeout=10)


async def test_a_publish_scope_publishes_and_reads_nothing(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, service(stack, "realtime/publish") as publisher:
        dashboard = await clients.open()
        last = await subscribe(dashboard, "alerts")
        published = await publisher.alert(ALERT)
        assert (published.seq, published.delivered) == (last + 1, 1)
        assert (await dashboard.receive())["id"] == published.id

        me = await publisher.me()
        assert (me.user_id, me.roles, me.can_publish, me.can_connect, me.groups) == (
            LOCAL_SERVICE_CLIENT_ID,
            ["publisher"],
            True,
            False,
            [],
        )
        with pytest.raises(Forbidden) as refused:
            await publisher.history_page("alerts")
        assert "required to read group 'alerts'" in refused.value.message
        with pytest.raises(Forbidden):
            await publisher.close_user_connections("alice")


async def test_a_read_scope_reads_and_connects_but_cannot_publish(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, service(stack, "realtime/read") as reader:
        page = await reader.history_page("alerts")
        assert isinstance(page.items, list)
        with pytest.raises(Forbidden) as refused:
            await reader.alert(ALERT)
        assert "'publisher'" in refused.value.message
        socket = await clients.open(mint_service_token(["realtime/read"]))  # a service's subscriber
        await subscribe(socket, "analytics")


async def test_the_token_endpoint_refuses_what_cognito_refuses(stack: ObservedDeployment) -> None:
    form = {"grant_type": "client_credentials"}
    async with httpx.AsyncClient(timeout=10) as http:
        wrong = await http.post(stack.token_url, data=form, auth=(LOCAL_SERVICE_CLIENT_ID, "not-the-secret"))
        grant = await http.post(
            stack.token_url,
            data={"grant_type": "password"},
            auth=(LOCAL_SERVICE_CLIENT_ID, LOCAL_SERVICE_CLIENT_SECRET),
        )
        scope = await http.post(
            stack.token_url,
            data={**form, "scope": "realtime/admin"},
            auth=(LOCAL_SERVICE_CLIENT_ID, LOCAL_SERVICE_CLIENT_SECRET),
        )
        json_body = await http.post(stack.token_url, json=form, auth=(LOCAL_SERVICE_CLIENT_ID, "x"))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")
    assert (json_body.status_code, json_body.json()["error"]) == (400, "invalid_request")


async def test_a_token_for_an_unknown_client_is_refused(stack: ObservedDeployment) -> None:
    stranger = mint_service_token(["realtime/publish"], client_id="some-other-app")  # not in JWT_AUDIENCE
    async with AsyncHub(stack.rest_url, auth=stranger, timeout=10) as client:
        with pytest.raises(ApiError) as refused:
            await client.alert(ALERT)
    assert refused.value.status == 401


async def test_a_signed_call_publishes_as_its_iam_principal(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, signed(stack) as iam:
        dashboard = await clients.open()
        last = await subscribe(dashboard, "alerts")
        key = f"iam-{uuid.uuid4()}"
        published = await iam.alert(ALERT, idempotency_key=key)
        assert (published.seq, published.delivered) == (last + 1, 1)
        assert (await dashboard.receive())["id"] == published.id
        assert (await iam.alert(ALERT, idempotency_key=key)).id == published.id  # a retry: the first answer

        me = await iam.me()
        assert (me.user_id, me.roles, me.can_publish, me.groups) == (LOCAL_IAM_PRINCIPAL, ["publisher"], True, [])
        with pytest.raises(Forbidden):
            await iam.history_page("alerts")  # least privilege: IAM callers publish


async def test_the_iam_and_token_faces_never_share_an_idempotency_key(stack: ObservedDeployment) -> None:
    """A token whose subject is the IAM principal's ARN is another caller."""
    impostor = mint_token(LOCAL_IAM_PRINCIPAL, ["publisher"])
    key = f"shared-{uuid.uuid4()}"
    async with signed(stack) as iam, AsyncHub(stack.rest_url, auth=impostor, timeout=10) as token:
        first = await iam.alert(ALERT, idempotency_key=key)
        second = await token.alert(ALERT, idempotency_key=key)
    assert first.id != second.id


async def test_an_unsigned_or_badly_signed_call_is_refused_before_the_function(stack: ObservedDeployment) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        unsigned = await http.post(f"{stack.iam_rest_url}/alert", json=ALERT.model_dump())
        bearer = await http.post(
            f"{stack.iam_rest_url}/alert",
            json=ALERT.model_dump(),
            headers={"Authorization": f"Bearer {mint_service_token(['realtime/publish'])}"},
        )
    # API Gateway's answer to a missing signature is the one to an unknown route.
    assert (unsigned.status_code, unsigned.json()["message"]) == (404, "Missing Authentication Token")
    assert bearer.status_code == 403  # a bearer token is not a signature
    async with signed(stack, secret="not-the-local-secret") as forger:
        with pytest.raises(Forbidden) as refused:
            await forger.alert(ALERT)
    assert "signature we calculated does not match" in refused.value.message
    async with signed(stack) as iam:
        with pytest.raises(NotFound):
            await iam.message("no-such-message")  # signed and routed: the function answers
