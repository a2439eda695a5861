"""The local DynamoDB's shortcuts (local.emulated.moto_speedups) answer as moto itself
would: item reads encode to what moto's serializer gives, for every attribute type the hub
stores, and a Query gives moto's items, counts and LastEvaluatedKey."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core.responses import XFormedAttributePicker
from moto.core.serialize import JSONSerializer
from moto.core.utils import get_service_model
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

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


# -- Query: the partition-only path gives moto's own answers ---------------------------

SORT_KEYS = st.text(alphabet="ab#é\U0001f600", min_size=1, max_size=4)
CONDITIONS = st.sampled_from(["", "begins_with(sk, :a)", "sk BETWEEN :a AND :b", "sk > :a", "sk <= :a", "sk = :a"])


@pytest.fixture(scope="module")
def tables() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for name, sort_type in (("strings", "S"), ("numbers", "N")):
            client.create_table(
                TableName=name,
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": sort_type},
                ],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield client


_partitions = itertools.count()
# Scalars only (the direct projection), then a set, a map path and a list index (moto's own).
PROJECTIONS = ["sk, tag", "sk, tag, num, flag, nil, absent", "tags, sk", "m.x, sk", "m, tag", "tags[0]"]
ODD_NUMBERS = ["1e2", "-0", "0.10", "12345678901234567890123456789012345678", "1.5E-7"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    numbers=st.booleans(),
    keys=st.lists(SORT_KEYS, min_size=0, max_size=25, unique=True),
    condition=CONDITIONS,
    bounds=st.tuples(SORT_KEYS, SORT_KEYS),
    limit=st.one_of(st.none(), st.integers(1, 8)),
    start=st.one_of(st.none(), SORT_KEYS),
    forward=st.booleans(),
    projection=st.sampled_from([None, *PROJECTIONS]),
    filtered=st.booleans(),
)
def test_a_query_answers_as_moto_own(
    tables: Any,
    monkeypatch: pytest.MonkeyPatch,
    numbers: bool,
    keys: list[str],
    condition: str,
    bounds: tuple[str, str],
    limit: int | None,
    start: str | None,
    forward: bool,
    projection: str | None,
    filtered: bool,
) -> None:
    table, sort_type = ("numbers", "N") if numbers else ("strings", "S")

    def value(text: str) -> str:  # a number key: a distinct number per text (negatives and fractions too)
        return str((int.from_bytes(text.encode(), "big") % 2001 - 1000) / 8) if numbers else text

    if numbers and "begins_with" in condition:
        condition = "sk >= :a"
    pk = f"p{next(_partitions)}"
    for index, text in enumerate(keys):
        item = {
            "pk": {"S": pk},
            "sk": {sort_type: value(text)},
            "n": {"N": str(index)},
            "tag": {"S": text},
            "num": {"N": ODD_NUMBERS[index % len(ODD_NUMBERS)]},  # moto re-formats these on projection
            "flag": {"BOOL": index % 2 == 0},
            "nil": {"NULL": True},
            "tags": {"SS": ["b", "a", text]},
            "m": {"M": {"x": {"S": text}, "y": {"N": "1"}}},
        }
        tables.put_item(TableName=table, Item=item)
    tables.put_item(TableName=table, Item={"pk": {"S": pk + "x"}, "sk": {sort_type: value("a")}})  # a neighbour
    low, high = sorted(bounds, key=lambda text: float(value(text)) if numbers else text)
    names = {":p": pk, ":a": value(low), ":b": value(high)}
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :p" + (f" AND {condition}" if condition else ""),
        "ScanIndexForward": forward,
    }
    used = {":p"} | {name for name in (":a", ":b") if name in condition}
    request["ExpressionAttributeValues"] = {
        name: {"S" if name == ":p" else sort_type: names[name]} for name in sorted(used)
    }
    if limit is not None:
        request["Limit"] = limit
    if start is not None:
        request["ExclusiveStartKey"] = {"pk": {"S": pk}, "sk": {sort_type: value(start)}}
    if projection:
        request["ProjectionExpression"] = projection
    if filtered:
        request["FilterExpression"] = "n > :zero"
        request["ExpressionAttributeValues"][":zero"] = {"N": "1"}

    taken: list[int] = []
    partition_path = moto_speedups._query_partition

    def counted(*args: Any) -> Any:
        taken.append(1)
        return partition_path(*args)

    monkeypatch.setattr(moto_speedups, "_query_partition", counted)
    monkeypatch.setattr(Table, "query", moto_speedups._query)
    fast = tables.query(**request)
    assert taken == [1]  # the partition-only path answered, not moto's
    monkeypatch.setattr(Table, "query", moto_speedups._original_query)
    slow = tables.query(**request)
    for answer in (fast, slow):
        answer.pop("ResponseMetadata")
    assert fast == slow


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5),
        st.one_of(
            st.text(max_size=6).map(lambda text: {"S": text}),
            st.sampled_from(ODD_NUMBERS).map(lambda number: {"N": number}),
            st.booleans().map(lambda flag: {"BOOL": flag}),
            st.just({"NULL": True}),
            st.lists(st.text(max_size=3), min_size=1, max_size=3, unique=True).map(lambda texts: {"SS": texts}),
            st.binary(max_size=4).map(lambda data: {"B": data}),
            st.text(max_size=4).map(lambda text: {"M": {"é": {"S": text}}}),
            st.just({"L": [{"N": "1"}, {"S": "ab"}]}),
        ),
        max_size=6,
    )
)
def test_an_item_is_sized_as_moto_sizes_it(attrs: dict[str, Any]) -> None:
    item = Item(hash_key=DynamoType({"S": "p"}), range_key=DynamoType({"S": "s"}), attrs=attrs)
    assert moto_speedups._size(item) == item.size()
