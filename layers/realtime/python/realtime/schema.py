"""The client protocol as one JSON Schema document, generated from the pydantic models:
what the TypeScript SDK's types are generated from (`python -m realtime.schema`), so the
server's models and the clients' types are written once.

The document's `$defs` hold every model; its properties name the roots:
- `envelope`: what every subscriber receives (`data` typed per event type in `events`);
- `events`: per event type, its `data` model and default group (`x-group`);
- `actions`: every client action (discriminated on `action`);
- `replies`: every server reply (discriminated on `type`), the Error frame included;
- `errorCodes`: every `code` an Error frame or a REST error can carry;
- `publishResult`, `queuedPublish`, `me`, `history`: REST answers the SDK reads.
"""

from __future__ import annotations

import json
import sys
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from realtime.domain.event_types import EVENT_TYPES
from realtime.domain.models import Envelope, PublishResult, QueuedPublish
from realtime.protocol import ClientAction, ErrorCode, ServerReply

REF_TEMPLATE = "#/$defs/{model}"


def protocol_schema() -> dict[str, Any]:
    from realtime.entrypoints.rest import HistoryResponse, MeResponse  # the REST face's models

    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (Envelope, "serialization"),
        (PublishResult, "serialization"),
        (QueuedPublish, "serialization"),
        (MeResponse, "serialization"),
        (HistoryResponse, "serialization"),
        *((model, "serialization") for model, _ in EVENT_TYPES.values()),
    ]
    keys, document = models_json_schema(models, ref_template=REF_TEMPLATE)
    defs: dict[str, Any] = document.get("$defs", {})
    unions: dict[str, tuple[TypeAdapter[Any], JsonSchemaMode]] = {
        "actions": (TypeAdapter(ClientAction), "validation"),
        "replies": (TypeAdapter(ServerReply), "serialization"),
    }
    roots: dict[str, Any] = {}
    for name, (adapter, mode) in unions.items():
        schema = adapter.json_schema(mode=mode, ref_template=REF_TEMPLATE)
        defs.update(schema.pop("$defs", {}))
        roots[name] = schema
    # Their wrap serializers (which only drop the unused target key) hide every field from
    # the serialization schema; the validation schema describes the same JSON.
    for model in (Envelope, PublishResult):
        defs[model.__name__] = model.model_json_schema(mode="validation", ref_template=REF_TEMPLATE)

    def ref(model: type[BaseModel], mode: str = "serialization") -> dict[str, Any]:
        return dict(keys[(model, mode)])  # type: ignore[index]

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "RealtimeProtocol",
        "type": "object",
        "properties": {
            "envelope": ref(Envelope),
            "events": {
                "type": "object",
                "properties": {name: {**ref(model), "x-group": group} for name, (model, group) in EVENT_TYPES.items()},
                "required": list(EVENT_TYPES),
            },
            "actions": roots["actions"],
            "replies": roots["replies"],
            "errorCodes": {"enum": list(get_args(ErrorCode))},
            "publishResult": ref(PublishResult),
            "queuedPublish": ref(QueuedPublish),
            "me": ref(MeResponse),
            "history": ref(HistoryResponse),
        },
        "$defs": dict(sorted(defs.items())),
    }


def main() -> None:
    json.dump(protocol_schema(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
