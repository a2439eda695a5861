import pytest

from realtime.errors import InvalidMessage, UnknownAction, ValidationFailed
from realtime.protocol import Publish, Subscribe, echo_request_id, load_frame, parse_action


@pytest.mark.parametrize("body", [None, "", "not json", "[1,2]", '"text"', "42", b"\xff\xfe{}"])
def test_anything_but_a_json_object_is_an_invalid_message(body: str | None) -> None:
    with pytest.raises(InvalidMessage):
        load_frame(body)


@pytest.mark.parametrize("frame", [{}, {"action": "dance"}, {"action": 3}, {"action": None}])
def test_missing_or_unknown_actions(frame: dict) -> None:
    with pytest.raises(UnknownAction):
        parse_action(frame)


@pytest.mark.parametrize(
    "frame",
    [
        {"action": "subscribe"},
        {"action": "subscribe", "group": ""},
        {"action": "subscribe", "group": "alerts", "extra": 1},
        {"action": "publish", "group": "alerts", "type": "Alert"},
        {"action": "publish", "group": "alerts", "type": "Alert", "data": []},
        {"action": "ping", "requestId": 5},
    ],
)
def test_invalid_fields_are_validation_errors(frame: dict) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_action(frame)
    assert caught.value.details


def test_valid_frames_parse_into_actions() -> None:
    assert parse_action({"action": "subscribe", "group": "alerts", "requestId": "r1"}) == Subscribe(
        action="subscribe", group="alerts", request_id="r1"
    )
    publish = parse_action({"action": "publish", "group": "alerts", "type": "Alert", "data": {"x": 1}})
    assert isinstance(publish, Publish)
    assert publish.data == {"x": 1}


def test_request_id_is_echoed_only_when_it_is_a_sane_string() -> None:
    assert echo_request_id({"requestId": "r1"}) == "r1"
    assert echo_request_id({"requestId": 7}) is None
    assert echo_request_id({"requestId": "x" * 500}) is None
    assert echo_request_id(None) is None


def test_validation_errors_locate_fields_without_the_union_tag() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_action({"action": "subscribe", "since": -1})
    assert sorted(tuple(d["loc"]) for d in caught.value.details or []) == [("group",), ("since",)]
