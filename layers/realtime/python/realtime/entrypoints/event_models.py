"""The Powertools parser models the handlers validate events with (API Gateway WebSocket,
EventBridge), copied field for field from aws_lambda_powertools.utilities.parser.models.

Why copies: importing any one of Powertools' parser models runs that package's __init__,
which builds every model it has (SQS, S3, Kafka, Cognito… about two hundred) and imports
importlib.metadata: 200-300 ms of a function's init for the three it uses. Descriptions and
examples are left out (they only document); fields, aliases, types and defaults are the
same, which tests/unit/test_event_models.py checks against the installed Powertools.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.networks import IPvAnyNetwork

# -- API Gateway WebSocket (parser/models/apigw_websocket.py) ---------------------------------


class APIGatewayWebSocketEventIdentity(BaseModel):
    model_config = ConfigDict(defer_build=True)

    source_ip: IPvAnyNetwork = Field(alias="sourceIp")
    user_agent: str | None = Field(None, alias="userAgent")


class APIGatewayWebSocketEventRequestContextBase(BaseModel):
    model_config = ConfigDict(defer_build=True)

    extended_request_id: str = Field(alias="extendedRequestId")
    request_time: str = Field(alias="requestTime")
    stage: str = Field(alias="stage")
    connected_at: datetime = Field(alias="connectedAt")
    request_time_epoch: datetime = Field(alias="requestTimeEpoch")
    identity: APIGatewayWebSocketEventIdentity = Field(alias="identity")
    request_id: str = Field(alias="requestId")
    domain_name: str = Field(alias="domainName")
    connection_id: str = Field(alias="connectionId")
    api_id: str = Field(alias="apiId")


class APIGatewayWebSocketMessageEventRequestContext(APIGatewayWebSocketEventRequestContextBase):
    route_key: str = Field(alias="routeKey")
    message_id: str = Field(alias="messageId")
    event_type: Literal["MESSAGE"] = Field(alias="eventType")
    message_direction: Literal["IN", "OUT"] = Field(alias="messageDirection")


class APIGatewayWebSocketConnectEventRequestContext(APIGatewayWebSocketEventRequestContextBase):
    route_key: Literal["$connect"] = Field(alias="routeKey")
    event_type: Literal["CONNECT"] = Field(alias="eventType")
    message_direction: Literal["IN"] = Field(alias="messageDirection")


class APIGatewayWebSocketDisconnectEventRequestContext(APIGatewayWebSocketEventRequestContextBase):
    route_key: Literal["$disconnect"] = Field(alias="routeKey")
    disconnect_status_code: int = Field(alias="disconnectStatusCode")
    event_type: Literal["DISCONNECT"] = Field(alias="eventType")
    message_direction: Literal["IN"] = Field(alias="messageDirection")
    disconnect_reason: str = Field(alias="disconnectReason")


class APIGatewayWebSocketConnectEventModel(BaseModel):
    model_config = ConfigDict(defer_build=True)

    headers: dict[str, str] = Field(alias="headers")
    multi_value_headers: dict[str, list[str]] = Field(alias="multiValueHeaders")
    request_context: APIGatewayWebSocketConnectEventRequestContext = Field(alias="requestContext")
    is_base64_encoded: bool = Field(alias="isBase64Encoded")


class APIGatewayWebSocketDisconnectEventModel(BaseModel):
    model_config = ConfigDict(defer_build=True)

    headers: dict[str, str] = Field(alias="headers")
    multi_value_headers: dict[str, list[str]] = Field(alias="multiValueHeaders")
    request_context: APIGatewayWebSocketDisconnectEventRequestContext = Field(alias="requestContext")
    is_base64_encoded: bool = Field(alias="isBase64Encoded")


class APIGatewayWebSocketMessageEventModel(BaseModel):
    model_config = ConfigDict(defer_build=True)

    request_context: APIGatewayWebSocketMessageEventRequestContext = Field(alias="requestContext")
    is_base64_encoded: bool = Field(alias="isBase64Encoded")
    body: str | type[BaseModel] | None = Field(None, alias="body")


# -- EventBridge (parser/models/event_bridge.py) ----------------------------------------------

RawDictOrModel = dict[str, Any] | type[BaseModel] | BaseModel  # parser/types.py


class EventBridgeModel(BaseModel):
    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(..., alias="detail-type")
    detail: RawDictOrModel
    replay_name: str | None = Field(None, alias="replay-name")

    @field_validator("detail", mode="before")
    @classmethod
    def validate_detail(cls, v: Any, fields: ValidationInfo) -> Any:
        # EventBridge Scheduler sends detail as the string '{}' when there is no payload.
        return {} if fields.data.get("source") == "aws.scheduler" and v == "{}" else v
