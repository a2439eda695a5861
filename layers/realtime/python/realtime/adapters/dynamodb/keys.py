"""Every key format of the one table, in one place (docs/architecture.md, "Data model").

| item | pk | sk |
|---|---|---|
| connection | `CONN#<id>` | `META` |
| membership mirror | `CONN#<id>` | `GRP#<group>` |
| membership | `MEM#<group>#<shard>` | `CONN#<id>` |
| group state / user in a group | `GRP#<group>` | `META` / `USER#<user>` |
| queued message / slice checkpoint | `MSG#<id>` | `META` / `SLICE#<shard>` |
| history | `HIST#<group>` | `SEQ#<seq, 20 digits>` |
| user's connections | `USER#<user>` | `CONN#<id>` |
| expiry index / sweep cursor | `SWEEP#<yyyymmddThhmm>` / `SWEEP#CURSOR` | `CONN#<id>` / `META` |
| counters | `STATS` | `META` |
| latest of a type | `LATEST` | `TYPE#<type>` |
| idempotency record | `IDEMPOTENCY` | Powertools' hash |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "ttl"
META = "META"
STATS_PK = "STATS"
LATEST_PK = "LATEST"
SWEEP_CURSOR_PK = "SWEEP#CURSOR"
IDEMPOTENCY_PK = "IDEMPOTENCY"
CONNECTION_PREFIX = "CONN#"
USER_PREFIX = "USER#"
GROUP_PREFIX = "GRP#"
SWEEP_BUCKET = timedelta(minutes=1)


def connection_pk(connection_id: str) -> str:
    return f"{CONNECTION_PREFIX}{connection_id}"


connection_sk = connection_pk  # the same string, as a sort key under a group shard or a user


def connection_id_of(key_value: str) -> str:
    return key_value.removeprefix(CONNECTION_PREFIX)


def group_pk(group: str) -> str:
    return f"{GROUP_PREFIX}{group}"


mirror_sk = group_pk  # a membership's mirror under its connection: CONN#id / GRP#group


def member_pk(group: str, shard: int) -> str:
    """One membership shard of a group: its own partition, one slice of a queued fan-out."""
    return f"MEM#{group}#{shard}"


def user_pk(user_id: str) -> str:
    return f"{USER_PREFIX}{user_id}"


user_sk = user_pk  # a user's counter in a group: GRP#group / USER#user


def user_of(key_value: str) -> str:
    return key_value.removeprefix(USER_PREFIX)


def message_pk(message_id: str) -> str:
    return f"MSG#{message_id}"


def slice_sk(shard: int) -> str:
    return f"SLICE#{shard:06d}"


def history_pk(group: str) -> str:
    return f"HIST#{group}"


def seq_sk(seq: int) -> str:
    return f"SEQ#{seq:020d}"  # zero-padded so the string order is the numeric order


def seq_of(key_value: str) -> int:
    return int(key_value.removeprefix("SEQ#"))


def latest_sk(event_type: str) -> str:
    return f"TYPE#{event_type}"


def sweep_bucket(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def sweep_pk(bucket: datetime) -> str:
    return f"SWEEP#{bucket.astimezone(UTC):%Y%m%dT%H%M}"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {PK: {"S": pk}, SK: {"S": sk}}
