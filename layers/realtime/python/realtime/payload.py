"""What an acceptable JSON payload is — one definition for every face (REST bodies,
WebSocket frames, EventBridge details) and every reader (history, snapshot, replay).

Whatever the write path accepts must be readable back by every reader and by every client
(browsers included), so the limits are those of the weakest reader:

- nesting at most `MAX_DEPTH` levels below the payload's root (pydantic's JSON parser and
  many clients refuse ~200 levels; the envelope adds two);
- at most `MAX_KEYS` keys in one object and `MAX_VALUES` values in all;
- keys at most `MAX_KEY_LENGTH` characters;
- numbers finite (no NaN or Infinity: JSON has neither, and pydantic would store them as
  null) and within JavaScript's safe range ±(2**53 - 1), integers exactly, so every client
  reads the number that was sent.

`loads` parses text strictly (it never raises anything but `ValidationFailed`, whatever the
input: invalid UTF-8, 5,000-digit numbers, a million brackets); `check` validates an
already-parsed value (EventBridge's `detail`). Both name the limit that was exceeded.
`JsonValue`/`JsonObject` say the same as pydantic types, for the documents (OpenAPI, the
SDK's types) of free-form fields.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Union

from pydantic import Field, StringConstraints
from typing_extensions import TypeAliasType

from realtime.errors import ValidationFailed, brief

MAX_DEPTH = 32
MAX_KEYS = 1000
MAX_VALUES = 10_000
MAX_KEY_LENGTH = 256
MAX_SAFE_INTEGER = 2**53 - 1
_NUMBER_RANGE = f"numbers must be within ±{MAX_SAFE_INTEGER} (JavaScript's safe range)"
# A longer literal cannot be a safe integer; refusing it before int() also avoids
# Python's 4,300-digit conversion limit (a ValueError deep inside json).
_MAX_INTEGER_DIGITS = len(str(MAX_SAFE_INTEGER)) + 1  # a sign


class PayloadRejected(ValidationFailed):
    """A payload outside the limits above (a ValidationError, 422)."""

    def __init__(self, message: str, loc: list[str | int], kind: str) -> None:
        super().__init__(message, details=[{"loc": loc, "msg": message, "type": kind}])


def _parse_int(literal: str) -> int:
    digits = literal.lstrip("-")
    if len(digits) > _MAX_INTEGER_DIGITS or abs(int(literal)) > MAX_SAFE_INTEGER:
        raise _Refused(f"integers must be within ±{MAX_SAFE_INTEGER} (JavaScript's safe range)", "int_range")
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused("numbers must be finite (this one overflows a double)", "finite_number")
    if abs(value) > MAX_SAFE_INTEGER:
        raise _Refused(_NUMBER_RANGE, "number_range")
    return value


def _parse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON; numbers must be finite", "finite_number")


class _Refused(ValueError):
    """Raised from inside json's hooks; turned into PayloadRejected by loads()."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


_decoder = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)


def loads(text: str | bytes, *, loc: list[str | int] | None = None, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON within the limits; raise PayloadRejected (or ValidationFailed for text
    that is not JSON at all), never anything else."""
    where = list(loc or [])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadRejected("the body is not valid UTF-8", where, "utf8") from None
    try:
        value = _decoder.decode(text)
    except _Refused as exc:
        raise PayloadRejected(str(exc), where, exc.kind) from None
    except RecursionError:
        raise PayloadRejected(f"nesting deeper than {max_depth} levels", where, "depth") from None
    except ValueError as exc:  # json.JSONDecodeError included
        position = f" at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise PayloadRejected(f"not valid JSON{position}", where, "json_invalid") from None
    check(value, loc=where, max_depth=max_depth)
    return value


def check(value: Any, *, loc: list[str | int] | None = None, max_depth: int = MAX_DEPTH) -> None:
    """Raise PayloadRejected when `value` (parsed JSON) is outside the limits. Iterative,
    so a hostile depth cannot exhaust the stack."""
    root = list(loc or [])
    stack: list[tuple[Any, int, list[str | int]]] = [(value, 0, root)]
    values = 0
    while stack:
        node, depth, path = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise PayloadRejected(f"more than {MAX_VALUES} values in all", root, "too_many_values")
        if isinstance(node, dict | list) and depth >= max_depth:
            raise PayloadRejected(f"nesting deeper than {max_depth} levels", _brief_path(path), "depth")
        if isinstance(node, dict):
            if len(node) > MAX_KEYS:
                raise PayloadRejected(f"more than {MAX_KEYS} keys in one object", _brief_path(path), "too_many_keys")
            for name, child in node.items():
                if not isinstance(name, str):
                    raise PayloadRejected("object keys must be strings", _brief_path(path), "key_type")
                if len(name) > MAX_KEY_LENGTH:
                    raise PayloadRejected(
                        f"a key is longer than {MAX_KEY_LENGTH} characters", _brief_path(path), "key_length"
                    )
                stack.append((child, depth + 1, [*path, name]))
        elif isinstance(node, list):
            stack.extend((child, depth + 1, [*path, index]) for index, child in enumerate(node))
        elif isinstance(node, bool) or node is None or isinstance(node, str):
            continue
        elif isinstance(node, int):
            if abs(node) > MAX_SAFE_INTEGER:
                raise PayloadRejected(
                    f"integers must be within ±{MAX_SAFE_INTEGER} (JavaScript's safe range)",
                    _brief_path(path),
                    "int_range",
                )
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise PayloadRejected("numbers must be finite", _brief_path(path), "finite_number")
            if abs(node) > MAX_SAFE_INTEGER:
                raise PayloadRejected(_NUMBER_RANGE, _brief_path(path), "number_range")
        else:
            raise PayloadRejected(f"not a JSON value: {type(node).__name__}", _brief_path(path), "json_type")


_MAX_PATH = 8


def _brief_path(path: list[str | int]) -> list[str | int]:
    """A location short enough for an error body: at most 8 steps of at most 64 characters."""
    steps = [brief(step) if isinstance(step, str) else step for step in path]
    return steps if len(steps) <= _MAX_PATH else [*steps[: _MAX_PATH - 1], "…"]


# The same rules as types, for free-form fields (UserAction.details): what the OpenAPI
# document and the SDK's generated types say such a value may hold. (Depth and totals are
# left to `check`: JSON Schema cannot bound them.)
SafeInteger = Annotated[int, Field(strict=True, ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
SafeNumber = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
# Kept exactly as sent: a model's str_strip_whitespace must not trim free-form keys or
# strings (it would merge {" a": 1, "a": 2} into {"a": 2}, losing a value the caller sent).
VerbatimText = Annotated[str, StringConstraints(strip_whitespace=False)]
Key = Annotated[str, StringConstraints(strip_whitespace=False, max_length=MAX_KEY_LENGTH)]
JsonValue = TypeAliasType(
    "JsonValue",
    "Union[bool, SafeInteger, SafeNumber, VerbatimText, list[JsonValue], dict[Key, JsonValue], None]",  # noqa: UP007
)
JsonObject = Annotated[dict[Key, JsonValue], Field(max_length=MAX_KEYS)]
