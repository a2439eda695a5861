"""Make moto's DynamoDB cost what a request touches, not the size of the table.

moto 5 is written for small test tables: for rollback, TransactWriteItems deep-copies the
whole table once per item of every transaction (~130 ms per transaction at 4,000 items),
and Query sorts every item of the table to find one partition. With a thousand open
connections the local stack would crawl. Requests reach moto one at a time here
(local.emulated.dynamodb), which makes two narrow patches safe:

- a transaction copies only the items it touches beforehand and puts them back if it fails;
- a Query on the base table looks at its own partition only;
- the backend a request is for is found without listing moto's package directory each time;
- the answers of the item reads (GetItem, Query, BatchGetItem) are JSON-encoded as they
  are: moto's serializer walks the botocore shape of every attribute of every item, ~60 %
  of a 100-item Query (~35 ms of its ~58 ms), which stretched the fan-out's member reads
  far beyond DynamoDB's. Items are already in DynamoDB's wire format; an answer holding a
  binary attribute (which the walk base64-encodes) still takes the walk.

All keep DynamoDB's semantics (tests/e2e/test_local_dynamodb.py checks them).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
from types import SimpleNamespace
from typing import Any

from moto import backends
from moto.core.serialize import JSONSerializer
from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

logger = logging.getLogger(__name__)

_Snapshot = list[tuple[Table, DynamoType, DynamoType | None, Item | None]]
_original_transact = DynamoDBBackend.transact_write_items
_original_query = Table.query
_original_list_of_modules = backends.list_of_moto_modules
_original_serialize_result = JSONSerializer._serialize_result
# Their answers are items (and counts, keys, capacity) only: nothing the walk would change.
_ITEM_READS = frozenset({"GetItem", "Query", "BatchGetItem"})
_BINARY_TYPES = ('"B":', '"BS":')
_QUERY_INDEX_NAME_POSITION = 6  # Table.query(hash_key, <6 more>, index_name, ...)
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
    index_name = args[_QUERY_INDEX_NAME_POSITION] if len(args) > _QUERY_INDEX_NAME_POSITION else None
    index_name = kwargs.get("index_name", index_name)
    if index_name is not None or hash_key is None or self.range_key_attr is None:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = list(self.items.get(hash_key, {}).values())
    # moto's query filters `all_items()` (the whole table, sorted) by hash key; for this
    # one call, the table's items are the partition's.
    self.all_items = lambda: partition  # type: ignore[method-assign]
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


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
