"""How sandbox values are shown as text: functions, methods, classes and other objects with
internals print as `<function range>`, never with a memory address or our qualified names.
"""

from __future__ import annotations

import types
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from typing import Any

from jinja2.runtime import LoopContext, Macro, Undefined

from engine.templates.measure import RUN, SCALARS

DATA_TYPES = (str, bytes, int, float, complex, list, tuple, dict, set, frozenset, range,
               KeysView, ValuesView, ItemsView, LoopContext)


def describe(obj: Any) -> str:
    """What a function, method, class or other object with internals shows as text:
    `<function range>`, never a memory address or our qualified names."""
    name = getattr(obj, "__name__", None)
    if isinstance(obj, type):
        return f"<class {obj.__name__}>"
    if isinstance(obj, Macro):
        return f"<macro {obj.name}>"
    if isinstance(obj, LoopContext):
        return "<loop>"
    if callable(obj) and isinstance(name, str):
        owner = getattr(obj, "__self__", None)
        return f"<{'method' if isinstance(owner, DATA_TYPES) else 'function'} {name}>"
    return f"<{type(obj).__name__} object>"


def opaque(obj: Any) -> bool:
    """Whether str()/repr() of `obj` may show internals (addresses, qualified names)."""
    if isinstance(obj, str | int | float | types.NoneType | Undefined):
        return False
    tp = type(obj)
    return (callable(obj) or isinstance(obj, Iterator)
            or (tp.__repr__ is object.__repr__ and tp.__str__ is object.__str__))


def has_opaque(value: Any) -> bool:
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        tp = type(item)
        if tp is str or tp is int or tp in SCALARS or tp is bytes:
            continue
        if tp is list or tp is tuple or tp is set or tp is frozenset:
            extend(item)
        elif tp is dict:
            extend(item.keys())
            extend(item.values())
        elif opaque(item):
            return True
    return False


def clean(value: Any) -> Any:
    """`value` with every opaque object in it replaced by its description; the same object
    when there is none (the usual case: one quick scan). Only called on values already
    bounded by weight."""
    tp = type(value)
    if tp is str or tp is int or tp in SCALARS or not has_opaque(value):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = [clean(v) for v in value]
        return items if isinstance(value, list) else type(value)(items)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    return describe(value) if opaque(value) else value


def shown_name(name: Any) -> str:
    # A key computed from data may be a secret: echo it only if the template text has it.
    run = RUN.get()
    return repr(name) if run is not None and str(name) in run[1] else "(a computed name)"
