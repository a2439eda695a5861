"""The event types a publisher can send, the shape of their `data`, and their default group.

`data` is camelCase JSON. Unknown fields are rejected (a typo must not be silently dropped).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from realtime import payload
from realtime.errors import ValidationFailed, error_details
from realtime.payload import brief

# Text must hold something other than whitespace. The pattern says so in the OpenAPI
# document, in terms every regex dialect involved reads the same way (JSON Schema's ECMA
# `\s` has U+FEFF, Python's strip() also strips U+001C-U+001F and U+0085).
NON_BLANK = r"[^\s\x1c-\x1f\x85\ufeff]"
ShortText = Annotated[str, Field(min_length=1, max_length=256, pattern=NON_BLANK)]
LongText = Annotated[str, Field(min_length=1, max_length=8192, pattern=NON_BLANK)]
# A key is kept as sent (never trimmed): trimming would merge " a" into "a" and lose a value.
TextKey = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=256, pattern=NON_BLANK)]
# Numbers: finite and within what every client reads exactly (payload.MAX_SAFE_INTEGER).
FiniteNumber = Annotated[float, Field(allow_inf_nan=False, ge=-payload.MAX_SAFE_INTEGER, le=payload.MAX_SAFE_INTEGER)]
NonNegativeNumber = Annotated[float, Field(allow_inf_nan=False, ge=0, le=payload.MAX_SAFE_INTEGER)]


def _json_integer(value: Any) -> Any:
    """JSON has one number type: 5.0 is the integer 5, as JSON Schema says (true is not)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# (Field first: constraints after a validator would reach the JSON Schema as "ge"/"le".)
Count = Annotated[int, Field(ge=0, le=payload.MAX_SAFE_INTEGER), BeforeValidator(_json_integer)]


def _keyed_by_text(values: dict[str, Any], **bounds: int) -> WithJsonSchema:
    """The JSON Schema of an object whose keys are ShortText: pydantic would put the key's
    pattern in patternProperties, which leaves keys that do not match it unconstrained."""
    keys = {"type": "string", "minLength": 1, "maxLength": 256, "pattern": NON_BLANK}
    return WithJsonSchema({"type": "object", "propertyNames": keys, "additionalProperties": values, **bounds})


_HEALTH_STATES = {"type": "string", "enum": ["healthy", "degraded", "down"]}
_NUMBER = {"type": "number", "minimum": -payload.MAX_SAFE_INTEGER, "maximum": payload.MAX_SAFE_INTEGER}
HealthState = Literal["healthy", "degraded", "down"]
Severity = Literal["info", "success", "warning", "error", "critical"]


class EventData(BaseModel):
    model_config = ConfigDict(
        defer_build=True,
        # strict: JSON types as declared (no "5" for 5, no true for 1), as the document says
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        str_strip_whitespace=True,
        strict=True,
    )


class PlatformStatus(EventData):
    status: HealthState
    message: LongText | None = None
    services: Annotated[dict[TextKey, HealthState], _keyed_by_text(_HEALTH_STATES)] | None = None


class AnalyticsUpdate(EventData):
    metrics: Annotated[
        dict[TextKey, FiniteNumber],
        Field(min_length=1, max_length=1000),
        _keyed_by_text(_NUMBER, minProperties=1, maxProperties=1000),
    ]
    period: ShortText | None = None


class UserCountUpdate(EventData):
    total_users: Count
    active_users: Count
    new_users_today: Count | None = None

    @model_validator(mode="after")
    def _active_within_total(self) -> UserCountUpdate:
        if self.active_users > self.total_users:
            raise ValueError("activeUsers cannot exceed totalUsers")
        return self


class GenerationMetrics(EventData):
    total_generations: Count
    generations_last_hour: Count | None = None
    average_duration_ms: NonNegativeNumber | None = None
    failed_generations: Count | None = None


class RevenueUpdate(EventData):
    total_revenue: FiniteNumber
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")]
    period: ShortText | None = None


class UserAction(EventData):
    user_id: ShortText
    action: ShortText
    details: payload.JsonObject | None = None


class RoleAssignment(EventData):
    user_id: ShortText
    role: ShortText
    change: Literal["assigned", "revoked"]
    by: ShortText | None = None


class SystemEvent(EventData):
    event_type: ShortText
    message: LongText
    source: ShortText | None = None


class Alert(EventData):
    title: ShortText
    message: LongText
    severity: Severity = "info"
    source: ShortText | None = None


class PerformanceAlert(EventData):
    metric: ShortText
    value: FiniteNumber
    threshold: FiniteNumber
    unit: ShortText | None = None
    service: ShortText | None = None


class TestMessage(EventData):
    __test__ = False  # not a pytest test class
    message: LongText


# Event type name -> (data model, group it goes to by default).
EVENT_TYPES: dict[str, tuple[type[EventData], str]] = {
    "PlatformStatus": (PlatformStatus, "admins"),
    "AnalyticsUpdate": (AnalyticsUpdate, "analytics"),
    "UserCountUpdate": (UserCountUpdate, "analytics"),
    "GenerationMetrics": (GenerationMetrics, "analytics"),
    "RevenueUpdate": (RevenueUpdate, "analytics"),
    "UserAction": (UserAction, "user-activity"),
    "RoleAssignment": (RoleAssignment, "user-activity"),
    "SystemEvent": (SystemEvent, "admins"),
    "Alert": (Alert, "alerts"),
    "PerformanceAlert": (PerformanceAlert, "alerts"),
    "TestMessage": (TestMessage, "admins"),
}


def validate_event_data(event_type: str, data: Any) -> dict[str, Any]:
    """Validate `data` for `event_type`; return it normalised (camelCase, no nulls)."""
    if event_type not in EVENT_TYPES:
        raise ValidationFailed(
            f"unknown event type {brief(event_type)!r}; expected one of: {', '.join(EVENT_TYPES)}",
            details=[{"loc": ["type"], "msg": "unknown event type", "type": "enum"}],
        )
    model, _ = EVENT_TYPES[event_type]
    payload.check(data, loc=["data"])  # before the model: bounded, whatever it holds
    try:
        return normalise(model.model_validate(data))
    except ValidationError as exc:
        raise ValidationFailed(f"invalid data for {event_type}", details=error_details(exc, prefix=("data",))) from exc


def normalise(data: EventData) -> dict[str, Any]:
    return data.model_dump(mode="json", by_alias=True, exclude_none=True)
