import math

import pytest

from realtime.domain.event_types import EVENT_TYPES, validate_event_data
from realtime.errors import ValidationFailed

VALID = {
    "PlatformStatus": {"status": "degraded", "message": "db slow", "services": {"db": "degraded"}},
    "AnalyticsUpdate": {"metrics": {"cpu": 0.5, "rps": 120}},
    "UserCountUpdate": {"totalUsers": 10, "activeUsers": 3},
    "GenerationMetrics": {"totalGenerations": 5, "generationsLastHour": 2, "averageDurationMs": 1.5},
    "RevenueUpdate": {"totalRevenue": 99.5, "currency": "EUR", "period": "today"},
    "UserAction": {"userId": "u1", "action": "login", "details": {"ip": "10.0.0.1"}},
    "RoleAssignment": {"userId": "u1", "role": "editor", "change": "assigned", "by": "admin"},
    "SystemEvent": {"eventType": "deploy", "message": "v2 live", "source": "ci"},
    "Alert": {"title": "Disk", "message": "90% full", "severity": "warning"},
    "PerformanceAlert": {"metric": "p99", "value": 900, "threshold": 500, "unit": "ms"},
    "TestMessage": {"message": "hello"},
}


def test_every_event_type_has_a_valid_example() -> None:
    assert set(VALID) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_valid_data_round_trips_in_camel_case(event_type: str) -> None:
    assert validate_event_data(event_type, VALID[event_type]) == VALID[event_type]


def test_alert_severity_defaults_to_info() -> None:
    assert validate_event_data("Alert", {"title": "t", "message": "m"})["severity"] == "info"


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        ("Alert", {"title": "t", "message": "m", "severity": "panic"}, "severity"),
        ("Alert", {"message": "m"}, "title"),
        ("Alert", {"title": "t", "message": "m", "sevrity": "info"}, "sevrity"),
        ("UserCountUpdate", {"totalUsers": -1, "activeUsers": 0}, "totalUsers"),
        ("RevenueUpdate", {"totalRevenue": 1, "currency": "euro"}, "currency"),
        ("AnalyticsUpdate", {"metrics": {"cpu": math.nan}}, "metrics"),
        ("AnalyticsUpdate", {"metrics": {}}, "metrics"),
        ("RoleAssignment", {"userId": "u", "role": "r", "change": "promoted"}, "change"),
        ("PlatformStatus", {"status": "fine"}, "status"),
    ],
)
def test_invalid_data_names_the_offending_field(event_type: str, data: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_event_data(event_type, data)
    locations = [error["loc"] for error in caught.value.details or []]
    assert any(loc[0] == "data" and field in loc for loc in locations), locations


def test_active_users_cannot_exceed_total() -> None:
    with pytest.raises(ValidationFailed):
        validate_event_data("UserCountUpdate", {"totalUsers": 1, "activeUsers": 2})


def test_unknown_event_type_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed, match="unknown event type"):
        validate_event_data("Nope", {})


def test_validation_errors_never_echo_the_input() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_event_data("TestMessage", {"message": "", "secret": "hunter2"})
    assert "hunter2" not in repr(caught.value.details)


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        (
            "UserAction",
            {"userId": "u", "action": "a", "details": {"k": 1, " k": 2, "": 3, "n": {" x ": " y "}}},
            "details",
        ),
        ("AnalyticsUpdate", {"metrics": {"cpu": 1, "cpu ": 2}}, "metrics"),
        ("PlatformStatus", {"status": "healthy", "services": {"db": "down", " db": "healthy"}}, "services"),
    ],
)
def test_keys_and_free_form_text_are_kept_exactly_as_sent(event_type: str, data: dict, field: str) -> None:
    """Trimming would merge keys that differ only by spaces, and lose a value it accepted."""
    assert validate_event_data(event_type, data)[field] == data[field]


def test_a_blank_key_is_refused_not_trimmed() -> None:
    with pytest.raises(ValidationFailed):
        validate_event_data("AnalyticsUpdate", {"metrics": {" ": 1}})
