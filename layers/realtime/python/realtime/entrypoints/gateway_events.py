"""API Gateway WebSocket events, as Powertools' parser models (their copies in
event_models.py) extended with what the authorizer adds to `requestContext` (Powertools'
models leave it out)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, Json

from realtime.config import RoleName
from realtime.domain.models import Identity
from realtime.entrypoints.event_models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketConnectEventRequestContext,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)


class AuthorizerContext(BaseModel):
    """What our authorizer returns as `context` (realtime.entrypoints.authorizers; API
    Gateway allows only flat strings): roles as a JSON array, the token's expiry in epoch
    seconds."""

    model_config = ConfigDict(defer_build=True)

    principal_id: str = Field(alias="principalId", min_length=1)
    user_id: str = Field(alias="userId", min_length=1)
    roles: Json[list[RoleName]] = Field(default_factory=list)
    expires_at: int | None = Field(default=None, alias="expiresAt")

    @property
    def identity(self) -> Identity:
        expires = datetime.fromtimestamp(self.expires_at, tz=UTC) if self.expires_at is not None else None
        return Identity(user_id=self.user_id, roles=frozenset(self.roles), expires_at=expires)


class ConnectRequestContext(APIGatewayWebSocketConnectEventRequestContext):
    authorizer: AuthorizerContext


class ConnectEvent(APIGatewayWebSocketConnectEventModel):
    request_context: ConnectRequestContext = Field(alias="requestContext")


MessageEvent = APIGatewayWebSocketMessageEventModel
DisconnectEvent = APIGatewayWebSocketDisconnectEventModel
