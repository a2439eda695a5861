"""The local DynamoDB's fast answers to item reads (local.emulated.moto_speedups) are the
bytes' meaning moto's own serializer gives, for every attribute type the hub stores."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.core.responses import XFormedAttributePicker
from moto.core.serialize import JSONSerializer
from moto.core.utils import get_service_model

from local.emulated import moto_speedups

ITEM = {
    "pk": {"S": "GRP#a"},
    "sk": {"S": "CONN#1"},
    "liveAfter": {"N": "12"},
    "replaying": {"BOOL": True},
    "gone": {"NULL": True},
    "groups": {"SS": ["a", "b"]},
    "counts": {"NS": ["1", "2"]},
    "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "1.5"}]}}},
}
RESULTS = {
    "GetItem": {"Item": ITEM, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}},
    "Query": {"Count": 1, "ScannedCount": 1, "Items": [ITEM], "LastEvaluatedKey": {"pk": ITEM["pk"], "sk": ITEM["sk"]}},
    "BatchGetItem": {"Responses": {"t": [ITEM]}, "UnprocessedKeys": {}},
}


def _serialized(operation: str, result: Any) -> dict[str, Any]:
    operation_model = get_service_model("dynamodb").operation_model(operation)
    serializer = JSONSerializer(operation_model=operation_model, value_picker=XFormedAttributePicker())
    response = serializer.serialize(result)
    return {"body": json.loads(response["body"]), "content_type": response["headers"]["Content-Type"]}


@pytest.mark.parametrize("operation", sorted(RESULTS))
def test_item_reads_are_answered_as_moto_would(operation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    moto_speedups.install()
    fast = _serialized(operation, RESULTS[operation])
    monkeypatch.setattr(JSONSerializer, "_serialize_result", moto_speedups._original_serialize_result)
    assert fast == _serialized(operation, RESULTS[operation])


def test_a_binary_attribute_takes_moto_own_path() -> None:
    moto_speedups.install()
    answer = _serialized("GetItem", {"Item": {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}}})
    assert answer["body"]["Item"]["blob"] == {"B": "AAE="}
