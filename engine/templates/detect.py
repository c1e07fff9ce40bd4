"""Whether a config value holds a template, without importing Jinja2: validation and
compiling ask this of every config value, and most hold none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def contains_template(value: Any) -> bool:
    """Whether any string in `value` (at any depth) contains `{{`."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, Mapping):
        return any(contains_template(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_template(v) for v in value)
    return False
