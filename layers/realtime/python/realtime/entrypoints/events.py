"""API Gateway WebSocket events, as Powertools' parser models extended with what the
authorizer adds to `requestContext` (Powertools' models leave it out)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from aws_lambda_powertools.utilities.parser.models.apigw_websocket import (
    APIGatewayWebSocketConnectEventRequestContext,
)
from pydantic import BaseModel, Field

from realtime.domain.models import Identity


class AuthorizerContext(BaseModel):
    """What our authorizer returns as `context` (API Gateway allows only flat strings)."""

    principal_id: str = Field(alias="principalId", min_length=1)
    user_id: str = Field(alias="userId", min_length=1)
    roles: str = ""

    @property
    def identity(self) -> Identity:
        return Identity(user_id=self.user_id, roles=frozenset(filter(None, self.roles.split(","))))


class ConnectRequestContext(APIGatewayWebSocketConnectEventRequestContext):
    authorizer: AuthorizerContext


class ConnectEvent(APIGatewayWebSocketConnectEventModel):
    request_context: ConnectRequestContext = Field(alias="requestContext")


MessageEvent = APIGatewayWebSocketMessageEventModel
