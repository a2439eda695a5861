"""One definition of an acceptable payload: what is accepted can always be read back."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime import payload
from realtime.domain.event_types import validate_event_data
from realtime.domain.models import Envelope
from realtime.errors import InvalidMessage, ValidationFailed
from realtime.protocol import load_frame


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def rejected(call: object, kind: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call()  # type: ignore[operator]
    assert caught.value.details and caught.value.details[0]["type"] == kind, caught.value.details
    return caught.value


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[" * 100_000 + "]" * 100_000, "depth"),
        ("[" * 100_000, "depth"),
        (json.dumps(nested(payload.MAX_DEPTH + 1)), "depth"),
        ("1" * 5000, "int_range"),
        ("9007199254740992", "int_range"),
        ("-9007199254740992", "int_range"),
        ("NaN", "finite_number"),
        ("[Infinity]", "finite_number"),
        ("-Infinity", "finite_number"),
        ("1e400", "finite_number"),
        ("1e300", "number_range"),
        ("[-9007199254740993.5]", "number_range"),
        (json.dumps({f"k{i}": i for i in range(payload.MAX_KEYS + 1)}), "too_many_keys"),
        (json.dumps([0] * payload.MAX_VALUES), "too_many_values"),
        (json.dumps({"k" * (payload.MAX_KEY_LENGTH + 1): 1}), "key_length"),
        ("{not json", "json_invalid"),
    ],
)
def test_loads_refuses_what_a_reader_could_not_read_back_naming_the_limit(text: str, kind: str) -> None:
    error = rejected(lambda: payload.loads(text), kind)
    assert len(json.dumps(error.details)) < 2000  # bounded, whatever the input


def test_invalid_utf8_is_refused() -> None:
    rejected(lambda: payload.loads(b'{"a":"\xff"}'), "utf8")


def test_the_limits_themselves_are_accepted() -> None:
    assert payload.loads(json.dumps(nested(payload.MAX_DEPTH))) == nested(payload.MAX_DEPTH)
    assert payload.loads(str(payload.MAX_SAFE_INTEGER)) == payload.MAX_SAFE_INTEGER
    assert payload.loads(json.dumps({f"k{i}": i for i in range(payload.MAX_KEYS)}))
    assert payload.loads("9007199254740991.0") == 9007199254740991.0
    assert payload.loads("-1e-300") == -1e-300


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (nested(payload.MAX_DEPTH + 1), "depth"),
        ({"n": math.nan}, "finite_number"),
        ({"n": math.inf}, "finite_number"),
        ({"n": 2**60}, "int_range"),
        ({"n": 1e20}, "number_range"),
        ({1: "non-string key"}, "key_type"),
        ({"set": {1, 2}}, "json_type"),
    ],
)
def test_check_refuses_parsed_values_too(value: object, kind: str) -> None:
    rejected(lambda: payload.check(value), kind)


def test_every_face_validates_data_before_a_seq_is_allocated() -> None:
    # validate_event_data is the one gate publish() calls before append() (see test_hub).
    deep = {"userId": "u", "action": "a", "details": nested(payload.MAX_DEPTH)}
    rejected(lambda: validate_event_data("UserAction", deep), "depth")
    rejected(
        lambda: validate_event_data("UserAction", {"userId": "u", "action": "a", "details": {"n": 2**63}}), "int_range"
    )
    error = rejected(
        lambda: validate_event_data("UserAction", {"userId": "u", "action": "a", "details": {"n": math.nan}}),
        "finite_number",
    )
    assert error.details is not None and error.details[0]["loc"][:2] == ["data", "details"]


def test_a_frame_names_the_limit_and_keeps_invalid_json_apart() -> None:
    with pytest.raises(InvalidMessage):
        load_frame(b"\xff\xfe")
    with pytest.raises(InvalidMessage):
        load_frame("{nope")
    deep_frame = json.dumps({"action": "publish", "data": nested(payload.MAX_DEPTH + 1)})
    rejected(lambda: load_frame(deep_frame), "depth")
    assert load_frame(json.dumps({"action": "publish", "data": nested(payload.MAX_DEPTH)}))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_whatever_check_accepts_reads_back_as_an_envelope(data: object) -> None:
    try:
        payload.check({"details": data})
    except ValidationFailed:
        return
    envelope = Envelope(
        type="UserAction", group="user-activity", id="i", seq=1, epoch="e", ts="t", data={"details": data}
    )
    assert Envelope.model_validate_json(envelope.to_json()) == envelope
    assert json.loads(envelope.to_json())["data"] == {"details": data}


def test_an_error_never_echoes_a_flood() -> None:
    from realtime.protocol import parse_action

    with pytest.raises(Exception) as caught:
        parse_action({"action": "é" * 60_000})
    assert len(str(caught.value)) < 1200
    with pytest.raises(ValidationFailed) as many:
        validate_event_data("Alert", {f"unknown{i}": 1 for i in range(900)} | {"title": "t", "message": "m"})
    details = many.value.details or []
    assert len(details) == 20 and details[-1]["type"] == "too_many_errors"
    assert "881 more" in details[-1]["msg"]
