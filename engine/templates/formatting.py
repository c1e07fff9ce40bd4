"""`str.format` and `format_map` in the sandbox: each field's resolved spec and value are
bounded right before `format()` applies them, whatever nesting or argument produced
the spec; `PCT_SPEC` finds the widths of `%`-formatting.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from jinja2.sandbox import SandboxedFormatter
from markupsafe import EscapeFormatter

from engine.templates.measure import charge, tick, weight
from engine.templates.shown import clean

if TYPE_CHECKING:
    from engine.templates.sandbox import Sandbox

PCT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
# The width and precision of a resolved str.format spec: [[fill]align][sign][z][#][0]width...
FORMAT_SPEC = re.compile(r"(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d*))?", re.S)


class BoundedFormatter(SandboxedFormatter):
    """str.format / format_map: each field's resolved spec and value are bounded right
    before format() applies them, whatever nesting or argument produced the spec."""

    def __init__(self, env: Sandbox, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self.sandbox, self.total = env, 0

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        tick()
        self.sandbox.bound(weight(value, self.sandbox.max_items), "a formatted value")
        return super().convert_field(clean(value), conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        env = self.sandbox
        tick()
        match = FORMAT_SPEC.match(format_spec)
        for digits in match.groups() if match else ():
            if digits:  # a 10**9-digit width must not even reach int()
                env.bound(int(digits) if len(digits) < 10 else 10**10, "a format width of {n}")
        env.bound(weight(value, env.max_items), "a formatted value ({n} items)")
        rv = super().format_field(clean(value), format_spec)
        self.total += len(rv)
        env.bound(self.total, "the text being formatted ({n} characters)")
        charge(len(rv), env.max_work)
        return rv


class BoundedEscapeFormatter(BoundedFormatter, EscapeFormatter):
    pass
