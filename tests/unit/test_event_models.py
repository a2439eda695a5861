"""realtime/entrypoints/event_models.py copies three of Powertools' parser models (importing
Powertools' would build all of them at cold start): the copies must validate exactly like
the originals, field for field."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import models as powertools
from pydantic import BaseModel, ValidationError

from realtime.entrypoints import event_models as ours
from tests.integration.events import connect_event, disconnect_event, message_event

COPIED = [
    "APIGatewayWebSocketConnectEventModel",
    "APIGatewayWebSocketDisconnectEventModel",
    "APIGatewayWebSocketMessageEventModel",
    "EventBridgeModel",
]


def shape(model: type[BaseModel]) -> dict[str, Any]:
    """Fields, aliases, defaults and types, nested models expanded (descriptions aside)."""
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        nested = shape(annotation) if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        fields[name] = (field.alias, field.is_required(), repr(field.default), nested or _type_name(annotation))
    # defer_build is when the validator is built (at first use: ours are, at cold start), not how it validates.
    config = {k: v for k, v in model.model_config.items() if k not in {"title", "defer_build"}}
    return {"fields": fields, "config": config}


def _type_name(annotation: Any) -> str:
    return repr(annotation).replace("aws_lambda_powertools.utilities.parser.types.", "")


@pytest.mark.parametrize("name", COPIED)
def test_the_copy_has_the_same_fields_as_powertools_model(name: str) -> None:
    assert shape(getattr(ours, name)) == shape(getattr(powertools, name))


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("APIGatewayWebSocketConnectEventModel", connect_event("c1=", {"userId": "u"}, "u")),
        ("APIGatewayWebSocketDisconnectEventModel", disconnect_event("c1=")),
        ("APIGatewayWebSocketMessageEventModel", message_event("c1=", '{"action":"ping"}')),
        ("APIGatewayWebSocketMessageEventModel", message_event("c1=", b"\x00binary")),
    ],
)
def test_the_copy_parses_api_gateway_events_as_powertools_does(name: str, event: dict[str, Any]) -> None:
    assert (
        getattr(ours, name).model_validate(event).model_dump()
        == getattr(powertools, name).model_validate(event).model_dump()
    )


def errors(model: type[BaseModel], event: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(event)
    return [(error["loc"], error["type"], error["msg"]) for error in refused.value.errors()]


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("APIGatewayWebSocketMessageEventModel", {"requestContext": {"connectionId": "c1="}, "isBase64Encoded": 1}),
        (
            "APIGatewayWebSocketDisconnectEventModel",
            {
                **disconnect_event("c1="),
                "requestContext": {**disconnect_event("c1=")["requestContext"], "eventType": "X"},
            },
        ),
        ("EventBridgeModel", {"version": "0", "detail-type": 3, "time": "yesterday"}),
    ],
)
def test_the_copy_refuses_what_powertools_refuses_with_the_same_errors(name: str, event: dict[str, Any]) -> None:
    assert errors(getattr(ours, name), event) == errors(getattr(powertools, name), event)


def test_eventbridge_scheduler_detail_is_read_the_same() -> None:
    event = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-11-26T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail-type": "Scheduled Event",
        "detail": "{}",
    }
    assert (
        ours.EventBridgeModel.model_validate(event).model_dump()
        == powertools.EventBridgeModel.model_validate(event).model_dump()
    )
