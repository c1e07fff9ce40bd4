"""Port value types of FORMAT.md: which may feed which, and checking values at run time."""

from __future__ import annotations

from typing import Any, Final, Literal

PortType = Literal["any", "string", "number", "integer", "boolean", "object", "array"]
PORT_TYPES: Final[tuple[str, ...]] = (
    "any", "string", "number", "integer", "boolean", "object", "array",
)


def can_connect(source: str, target: str) -> bool:
    """Whether an output of type `source` may feed an input of type `target`."""
    return source == target or source == "any" or target == "any" or (
        source == "integer" and target == "number"
    )


def needs_check(source: str, target: str) -> bool:
    """Whether values on a wire must be checked when they arrive: only where the
    source's declared type does not already guarantee the target's."""
    return target != "any" and source != target and not (
        source == "integer" and target == "number"
    )


def matches(port_type: str, value: Any) -> bool:
    """Whether a value fits a port type. bool is not a number here (JSON keeps them
    apart); an integer is accepted for number."""
    if port_type == "any":
        return True
    if port_type == "string":
        return isinstance(value, str)
    if port_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if port_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if port_type == "boolean":
        return isinstance(value, bool)
    if port_type == "object":
        return isinstance(value, dict)
    if port_type == "array":
        return isinstance(value, list | tuple)
    raise ValueError(f"unknown port type {port_type!r}")


def type_name(value: Any) -> str:
    """The FORMAT.md name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__
