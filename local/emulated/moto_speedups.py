"""Make moto's DynamoDB cost what a request touches, not the size of the table.

moto 5 is written for small test tables: for rollback, TransactWriteItems deep-copies the
whole table once per item of every transaction (~130 ms per transaction at 4,000 items),
and Query sorts every item of the table to find one partition. With a thousand open
connections the local stack would crawl. Requests reach moto one at a time here
(local.emulated.dynamodb), which makes two narrow patches safe:

- a transaction copies only the items it touches beforehand and puts them back if it fails;
- a Query on the base table looks at its own partition only, sorts it by a plain key
  (not `DynamoType.__lt__`), starts at its ExclusiveStartKey by bisection instead of walking
  the pages before it, sizes each item once, and copies only what it returns (projected
  items are new already): moto's own Query costs ~40 ms per 250-item page of a 1,000-member
  partition, more than half the CPU of a queued fan-out to 1,000 subscribers;
- the backend a request is for is found without listing moto's package directory each time;
- the answers of the item reads (GetItem, Query, BatchGetItem) are JSON-encoded as they
  are: moto's serializer walks the botocore shape of every attribute of every item, ~60 %
  of a 100-item Query (~35 ms of its ~58 ms), which stretched the fan-out's member reads
  far beyond DynamoDB's. Items are already in DynamoDB's wire format; an answer holding a
  binary attribute (which the walk base64-encodes) still takes the walk.

All keep DynamoDB's semantics (tests/e2e/test_local_dynamodb.py checks them).
"""

from __future__ import annotations

import bisect
import copy
import functools
import json
import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT
from moto import backends
from moto.core.serialize import JSONSerializer
from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

logger = logging.getLogger(__name__)

_Snapshot = list[tuple[Table, DynamoType, DynamoType | None, Item | None]]
_original_transact = DynamoDBBackend.transact_write_items
_original_query = Table.query
_original_list_of_modules = backends.list_of_moto_modules
_original_serialize_result = JSONSerializer._serialize_result
# Their answers are items (and counts, keys, capacity) only: nothing the walk would change.
_ITEM_READS = frozenset({"GetItem", "Query", "BatchGetItem"})
_BINARY_TYPES = ('"B":', '"BS":')
_installed = False


def install() -> None:
    """Patch moto (once per process). If its internals have changed, moto is left as it
    is: correct, only slower."""
    global _installed
    if _installed:
        return
    if not hasattr(models, "copy") or not hasattr(DynamoDBBackend, "get_keys_value"):
        logger.warning("moto's internals changed; its DynamoDB stays unpatched (slower)")
        return
    # moto calls `copy.deepcopy` through its module's `copy` name: tables stop being copied
    # there, everything else still is (update_item copies single items the same way).
    models.copy = SimpleNamespace(deepcopy=_deepcopy_except_tables)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    JSONSerializer._serialize_result = _serialize_result  # type: ignore[method-assign,assignment]
    # moto lists its package directory on every request to find the backend: once is enough.
    backends.list_of_moto_modules = functools.cache(lambda: tuple(_original_list_of_modules()))
    _installed = True


def installed() -> bool:
    return _installed


# -- TransactWriteItems ---------------------------------------------------------------


def _deepcopy_except_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    snapshot = _snapshot(self, transact_items)
    try:
        _original_transact(self, transact_items)
    except Exception:
        _restore(snapshot)
        raise


def _snapshot(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> _Snapshot:
    saved: _Snapshot = []
    for action in transact_items:
        for operation in action.values():
            table = backend.tables.get(operation.get("TableName", ""))
            if table is None:
                continue  # moto reports the missing table itself
            key = operation.get("Key") or {
                name: operation.get("Item", {}).get(name)
                for name in (table.hash_key_attr, table.range_key_attr)
                if name is not None
            }
            try:
                hash_key, range_key = backend.get_keys_value(table, key)
            except Exception:  # noqa: S112 - an invalid key: moto rejects the transaction itself
                continue
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    return saved


def _restore(snapshot: _Snapshot) -> None:
    for table, hash_key, range_key, item in snapshot:
        if item is None:
            if table.get_item(hash_key, range_key) is not None:
                table.delete_item(hash_key, range_key)
        elif range_key is not None:
            table.items[hash_key][range_key] = item
        else:
            # moto annotates `items` for range-key tables only.
            table.items[hash_key] = item  # type: ignore[assignment]


# -- Query ----------------------------------------------------------------------------


def _query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
    call = _QueryCall.of(args, kwargs)
    if call is None or hash_key is None or self.range_key_attr is None or call.index_name is not None:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = list(self.items.get(hash_key, {}).values())
    if call.filter_kwargs or not all(_orderable(item.range_key) for item in partition):
        # moto's query filters `all_items()` (the whole table, sorted) by hash key; for this
        # one call, the table's items are the partition's.
        self.all_items = lambda: partition  # type: ignore[method-assign]
        try:
            return _original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items
    return _query_partition(self, partition, call)


_QUERY_PARAMETERS = (
    "range_comparison",
    "range_objs",
    "limit",
    "exclusive_start_key",
    "scan_index_forward",
    "projection_expressions",
    "index_name",
    "consistent_read",
    "filter_expression",
)
_KEY_CONDITIONS = ("hash_key_conditions", "range_key_conditions")


class _QueryCall(SimpleNamespace):
    """Table.query's arguments by name (moto passes them by position)."""

    range_comparison: str | None
    range_objs: list[DynamoType]
    limit: int | None
    exclusive_start_key: dict[str, Any] | None
    scan_index_forward: bool
    projection_expressions: list[list[str]] | None
    index_name: str | None
    filter_expression: Any
    filter_kwargs: dict[str, Any]

    @classmethod
    def of(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _QueryCall | None:
        """The call's arguments, or None for a call this path does not take: one with a key
        of several attributes, or a signature that is not the one it was written for."""
        named = {"index_name": None, "consistent_read": False, "filter_expression": None}
        named |= dict(zip(_QUERY_PARAMETERS, args, strict=False))
        named |= {name: value for name, value in kwargs.items() if name in _QUERY_PARAMETERS}
        conditions = {name: kwargs.get(name) or [] for name in _KEY_CONDITIONS}
        if len(args) > len(_QUERY_PARAMETERS) or set(_QUERY_PARAMETERS) - named.keys():
            return None
        if any(len(value) > 1 for value in conditions.values()):
            return None
        extra = {name: value for name, value in kwargs.items() if name not in {*_QUERY_PARAMETERS, *_KEY_CONDITIONS}}
        return cls(**named, filter_kwargs=extra)


def _orderable(key: DynamoType | None) -> bool:
    return key is not None and key.type in ("S", "N")


def _order(key: DynamoType) -> Any:
    """DynamoDB's sort-key order: numbers by value, strings by UTF-8 bytes (which is
    code-point order, Python's own for str)."""
    return Decimal(key.value) if key.type == "N" else key.value


def _query_partition(self: Table, partition: list[Item], call: _QueryCall) -> Any:
    """moto's base-table Query (same results, pages and LastEvaluatedKey), at the cost of
    what it returns rather than of the whole partition per page."""
    ordered = sorted(((_order(item.range_key), item) for item in partition), key=lambda pair: pair[0])  # type: ignore[arg-type]
    keys = [key for key, _ in ordered]  # ascending
    start = 0
    if call.exclusive_start_key is not None:
        boundary = _order(DynamoType(call.exclusive_start_key[self.range_key_attr]))  # type: ignore[index]
        # Forward: after the last key <= boundary; backward: after the first key >= boundary.
        start = bisect.bisect_right(keys, boundary)
        if call.scan_index_forward is False:
            start = len(keys) - bisect.bisect_left(keys, boundary)
    items = [item for _, item in ordered]
    if call.scan_index_forward is False:
        items.reverse()
    results: list[Item] = []
    result_size = 0
    last_evaluated_key = None
    for item in items[start:]:
        size = _size(item)
        if len(results) == call.limit or result_size + size > RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
            break
        if call.range_comparison and not item.range_key.compare(call.range_comparison, call.range_objs):  # type: ignore[union-attr]
            continue
        results.append(item)
        result_size += size
    scanned_count = len(results)
    if call.filter_expression is not None:  # on whole items, before the projection
        results = [item for item in results if call.filter_expression.expr(item)]
    if call.projection_expressions:
        projected = [_project(item, call.projection_expressions) for item in results]
        return projected, scanned_count, last_evaluated_key
    return copy.deepcopy(results), scanned_count, last_evaluated_key  # projected items are new already


# Attribute types whose projection is the value itself (N re-formatted as moto does).
_SCALAR_TYPES = frozenset({"S", "N", "BOOL", "NULL"})


def _project(item: Item, projection_expressions: list[list[str]]) -> Item:
    """`item.project(...)` for top-level scalar attributes without its round trip through
    Python values (a deep copy and a deserialize of the whole item, then a serialize):
    ~70 % of a projected Query's cost. Anything else (a path, a list index, a set, a
    map, a binary) takes moto's own."""
    names = [expression[0] for expression in projection_expressions if len(expression) == 1]
    if len(names) != len(projection_expressions) or any("[" in name for name in names):
        return item.project(projection_expressions)
    attrs: dict[str, DynamoType] = {}
    for name in names:
        attribute = item.attrs.get(name)
        if attribute is None or name in attrs:
            continue
        if attribute.type not in _SCALAR_TYPES:
            return item.project(projection_expressions)
        value = attribute.value
        if attribute.type == "N":  # moto's round trip: Decimal in DynamoDB's context, then str
            value = str(DYNAMODB_CONTEXT.create_decimal(value))
        attrs[name] = DynamoType({attribute.type: value})
    projected = Item(hash_key=item.hash_key, range_key=item.range_key, attrs={})
    # A part of a stored item is within the item size limit: not re-checked attribute by
    # attribute (LimitedSizeDict sizes the whole item again on every insert).
    dict.update(projected.attrs, attrs)
    return projected


def _size(item: Item) -> int:
    """`item.size()`, with strings and numbers (nearly every attribute here) sized inline."""
    total = 0
    for name, attribute in item.attrs.items():
        kind, value = attribute.type, attribute.value
        if kind == "S":
            total += len(value.encode())
        elif kind == "N":
            total += len(str(value))
        else:
            total += attribute.size()
        total += len(name.encode())
    return total


# -- the answers of item reads --------------------------------------------------------


def _serialize_result(self: JSONSerializer, resp: Any, result: Any) -> Any:
    if (
        self.operation_name in _ITEM_READS
        and self.service_model.service_name == "dynamodb"
        and isinstance(result, dict)
        and not self.pretty_print
    ):
        try:
            body = json.dumps(result)
        except TypeError:  # bytes: a binary attribute
            body = _BINARY_TYPES[0]
        if not any(marker in body for marker in _BINARY_TYPES):
            resp["body"] = body
            resp["headers"]["Content-Type"] = self._get_protocol_specific_content_type()
            return resp
    return _original_serialize_result(self, resp, result)
