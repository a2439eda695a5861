"""The local DynamoDB keeps DynamoDB's semantics with local.emulated.moto_speedups installed:
transactions are all or nothing (with per-item cancellation reasons, under concurrency),
and a Query returns its partition only, in sort-key order, page by page."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

TABLE = "rollback-check"


@pytest.fixture(scope="module")
def dynamodb(stack: ObservedDeployment) -> Iterator[Any]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client
    client.delete_table(TableName=TABLE)


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "META"}}


def put(pk: str, **attributes: str) -> dict[str, Any]:
    item = {**key(pk), **{name: {"S": value} for name, value in attributes.items()}}
    return {"Put": {"TableName": TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def add(pk: str, delta: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key(pk),
            "UpdateExpression": "ADD #n :d",
            "ExpressionAttributeNames": {"#n": "n"},
            "ExpressionAttributeValues": {":d": {"N": str(delta)}},
        }
    }


def exists(pk: str) -> dict[str, Any]:
    return {"ConditionCheck": {"TableName": TABLE, "Key": key(pk), "ConditionExpression": "attribute_exists(pk)"}}


def delete(pk: str) -> dict[str, Any]:
    return {"Delete": {"TableName": TABLE, "Key": key(pk), "ConditionExpression": "attribute_exists(pk)"}}


def get(dynamodb: Any, pk: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamodb.get_item(TableName=TABLE, Key=key(pk), ConsistentRead=True).get("Item")
    return item


def test_the_speedups_are_in_use(stack: ObservedDeployment) -> None:
    assert stack.dynamodb_speedups_installed


def test_a_cancelled_transaction_changes_nothing(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("kept", v="original"), add("counter", 5)])
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[put("new", v="x"), add("counter", 1), delete("kept"), exists("missing")]
        )
    reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert get(dynamodb, "new") is None
    assert get(dynamodb, "counter") == {**key("counter"), "n": {"N": "5"}}
    assert get(dynamodb, "kept") == {**key("kept"), "v": {"S": "original"}}


def test_a_failing_condition_on_the_first_item_is_reported_on_it(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[exists("nobody"), put("other", v="x")])
    assert cancelled.value.response["CancellationReasons"][0]["Code"] == "ConditionalCheckFailed"
    assert get(dynamodb, "other") is None


def test_concurrent_transactions_keep_every_increment(dynamodb: Any) -> None:
    def bump(n: int) -> None:
        dynamodb.transact_write_items(TransactItems=[put(f"item-{n}", v="x"), add("total", 1)])

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(bump, range(200)))
    assert get(dynamodb, "total") == {**key("total"), "n": {"N": "200"}}


def test_query_returns_one_partition_in_order_and_pages(dynamodb: Any) -> None:
    for pk in ("GRP#a", "GRP#b", "GRP#ab"):
        for n in (3, 1, 2):
            dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": f"CONN#{n}"}})
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "GRP#a"}, "sk": {"S": "META"}})

    def query(**options: Any) -> dict[str, Any]:
        response: dict[str, Any] = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": "GRP#a"}, ":prefix": {"S": "CONN#"}},
            ConsistentRead=True,
            **options,
        )
        return response

    everything = query()
    assert [item["sk"]["S"] for item in everything["Items"]] == ["CONN#1", "CONN#2", "CONN#3"]
    first = query(Limit=2)
    assert [item["sk"]["S"] for item in first["Items"]] == ["CONN#1", "CONN#2"]
    rest = query(Limit=2, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert [item["sk"]["S"] for item in rest["Items"]] == ["CONN#3"]
    backwards = query(ScanIndexForward=False)
    assert [item["sk"]["S"] for item in backwards["Items"]] == ["CONN#3", "CONN#2", "CONN#1"]
    missing = dynamodb.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "nope"}}
    )
    assert missing["Items"] == []
