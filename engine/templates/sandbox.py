"""The sandboxed Jinja environment: Jinja's immutable sandbox without include/import/extends
or calls on anything but plain data; every value it builds is bounded to `max_items` items
and every render to the deadline its caller puts in `RUN`.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import json
import math
import re
import time
import types
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.runtime import BlockReference, LoopContext, Macro, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ITER_FILTER = "\ue000iter"  # not an identifier, so templates cannot name it
_DATA_TYPES = (str, bytes, int, float, complex, list, tuple, dict, set, frozenset, range,
               KeysView, ValuesView, ItemsView, LoopContext)
_DICT_ATTRS = frozenset(dir(dict))
_PCT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)\}")
_NESTED_BRACE = re.compile(r"\{[^{}]*:[^{}]*\{")

# (deadline, template source, time limit) of the render running in this thread / task.
RUN: contextvars.ContextVar[tuple[float, str, float] | None] = contextvars.ContextVar(
    "flowui_template_run", default=None)


class Refused(Exception):
    """One of our own bounds, raised deep inside Jinja and reported as TemplateError."""


# The deadline is checked in every sandbox hook (attribute and item access, calls,
# intercepted operators, filters, each `{{ }}` output, `~`), every 256 items of each
# for-loop and at each output chunk. Not interruptible: one long C-level operation
# (sorting or joining a list that arrived big as data) and compiling a template.
def tick() -> None:
    run = RUN.get()
    if run is not None and time.monotonic() > run[0]:
        raise Refused(f"evaluation took longer than {run[2]} s (time limit)")


def _weight(value: Any, budget: int) -> int:
    """Rough size in items (characters for strings), counted only up to `budget`.

    Shared references (`[x] * n`) count every time, because that is what they cost
    once serialised; a container is charged its length before being entered, so
    the walk itself never takes more than `budget` steps.
    """
    total, stack = 1, [value]  # every value, the top one included, counts at least 1
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += max(len(item) - 1, 0)
        elif isinstance(item, dict):
            total += max(2 * len(item) - 1, 0)
            if total <= budget:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += max(len(item) - 1, 0)
            if total <= budget:
                stack.extend(item)
    return total


def _shown(name: Any) -> str:
    # A key computed from data may be a secret: echo it only if the template text has it.
    run = RUN.get()
    return repr(name) if run is not None and str(name) in run[1] else "(a computed name)"


class _Undefined(StrictUndefined):
    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint or _shown(self._undefined_name) != "(a computed name)":
            return super()._undefined_message
        return "a name computed at run time is undefined"


def _json_default(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    raise TypeError(f"a {type(value).__name__!r} value cannot be turned into JSON")


def _tojson(value: Any, indent: int | None = None) -> str:
    """Plain JSON, compact unless `indent`; keys keep their order and <>&' are NOT
    HTML-escaped (unlike Jinja's tojson), because nothing here is HTML."""
    seps = (",", ":") if indent is None else (",", ": ")
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=seps,
                      default=_json_default)


def _fromjson(value: str) -> Any:
    return json.loads(value)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], i: int, name: str, default: Any) -> Any:
    return args[i] if len(args) > i else kwargs.get(name, default)


class Guarded:
    """A for-loop iterable that checks the deadline as it goes (keeps `len` for `loop.length`)."""

    __slots__ = ("_it",)

    def __init__(self, iterable: Any) -> None:
        self._it = iterable

    def __len__(self) -> int:
        return len(self._it)

    def __iter__(self) -> Iterator[Any]:
        for i, item in enumerate(self._it):
            if not i & 255:
                tick()
            yield item


class _CodeGenerator(CodeGenerator):
    """Routes every for-loop iterable and every `~` through the environment's checks."""

    def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
        for loop in list(node.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, _ITER_FILTER, [], [], None, None,
                                     lineno=loop.iter.lineno)
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"environment.checked_concat({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, max_items: int, **options: Any) -> None:
        super().__init__(autoescape=False, undefined=_Undefined, keep_trailing_newline=True,
                         **options)
        self.max_items = max_items
        self.finalize = self._finalize

        def range_(*args: int) -> range:
            rng = range(*args)
            # len() would overflow past a C ssize_t; this is the same count, as a Python int
            self.bound(-((rng.start - rng.stop) // rng.step), "range() of {n} items")
            return rng

        self._range = range_
        self.globals.clear()  # drops lipsum, cycler, joiner, namespace: objects with internals
        self.globals.update(range=range_, dict=dict)
        self.filters.update(tojson=_tojson, fromjson=_fromjson)
        self.filters = {name: self._guard_filter(name, f) for name, f in self.filters.items()}
        self.filters[_ITER_FILTER] = Guarded

    # -- bounds ----------------------------------------------------------------------

    def bound(self, n: int, what: str) -> None:
        """Refuse `n` items over the limit; `what` may show the count as `{n}`."""
        if n > self.max_items:
            raise Refused(f"{what.format(n=n)} exceeds the limit of {self.max_items} items")

    def _check_size(self, value: Any, what: str) -> None:
        if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
            self.bound(len(value), what + " ({n} items)")

    def _check_format(self, fmt: str, values: list[Any]) -> None:
        widths = [int(w) for m in _PCT_SPEC.finditer(fmt) for w in m.groups() if w and w != "*"]
        widths += [int(w) for spec in _BRACE_SPEC.findall(fmt) for w in re.findall(r"\d+", spec)]
        if "*" in fmt or _NESTED_BRACE.search(fmt):  # widths taken from the arguments
            widths += [v for v in values if isinstance(v, int)]
        self.bound(max(widths, default=0), "a format width of {n}")
        self.bound(len(fmt) + sum(_weight(v, self.max_items) for v in values),
                   "the text being formatted")

    def _check_replace(self, s: Any, old: Any, new: Any, count: Any) -> None:
        if all(isinstance(x, str | bytes) for x in (s, old, new)):
            hits = s.count(old) if old else len(s) + 1
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            self.bound(len(s) + hits * max(0, len(new) - len(old)),
                       "the result of replace ({n} characters)")

    def _joined(self, sep: Any, items: Any) -> list[Any]:
        items = list(itertools.islice(items, self.max_items + 1))
        self.bound(len(items), "joining {n} items")
        size = sum(_weight(item, self.max_items) for item in items)
        self.bound(size + len(sep) * max(0, len(items) - 1), "the result of join")
        return items

    def _check_method(self, owner: Any, name: str, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Refuse, before they run, methods of data whose output size an argument controls."""
        if isinstance(owner, str | bytes):
            if name in ("center", "ljust", "rjust", "zfill"):
                self.bound(_arg(args, kwargs, 0, "width", 0), f"{name}() width {{n}}")
            elif name == "expandtabs":
                tab = _arg(args, kwargs, 0, "tabsize", 8)
                tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
                self.bound(len(owner) + tabs * tab, "the result of expandtabs() ({n} characters)")
            elif name == "replace":
                self._check_replace(owner, _arg(args, kwargs, 0, "old", None),
                                    _arg(args, kwargs, 1, "new", None),
                                    _arg(args, kwargs, 2, "count", -1))
            elif name == "join" and args:
                return (self._joined(owner, args[0]),)
            elif name == "translate" and args and isinstance(args[0], Mapping):
                longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
                self.bound(len(owner) * longest, "the result of translate() ({n} characters)")
        elif isinstance(owner, int) and name == "to_bytes":
            self.bound(_arg(args, kwargs, 0, "length", 1), "to_bytes() length {n}")
        return args

    def _finalize(self, value: Any) -> Any:
        # Every `{{ }}` of a statement template passes here before str(): catch
        # `[x] * n`-style blow-ups before they are turned into text.
        tick()
        if not isinstance(value, str | int | float | bool | types.NoneType):
            self.bound(_weight(value, self.max_items), "an output value")
        return value

    def checked_concat(self, join: Callable[[tuple[Any, ...]], str], items: tuple[Any, ...]) -> str:
        tick()
        self.bound(sum(_weight(i, self.max_items) for i in items), "the result of ~")
        return join(items)

    def _guard_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        skip = 1 if hasattr(func, "jinja_pass_arg") else 0  # context/environment comes first

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            tick()
            value, rest = args[skip], args[skip + 1:]
            if name in ("center", "batch", "slice"):
                size = _arg(rest, kwargs, 0, {"center": "width", "batch": "linecount"}.get(
                    name, "slices"), 0)
                self.bound(size, f"|{name}({{n}})")
            elif name == "indent":
                width = _arg(rest, kwargs, 0, "width", 4)
                width = len(width) if isinstance(width, str) else width
                self.bound((str(value).count("\n") + 1) * width + len(str(value)),
                           "the result of |indent ({n} characters)")
            elif name == "replace":
                self._check_replace(value, _arg(rest, kwargs, 0, "old", None),
                                    _arg(rest, kwargs, 1, "new", None),
                                    _arg(rest, kwargs, 2, "count", None))
            elif name == "join":
                value = self._joined(_arg(rest, kwargs, 0, "d", ""), value)
                args = (*args[:skip], value, *rest)
            elif name == "format" and isinstance(value, str):
                self._check_format(value, [*rest, *kwargs.values()])
            elif name in ("string", "tojson", "pprint", "xmlattr", "urlencode", "list"):
                self.bound(_weight(value, self.max_items), f"the input of |{name}")
            rv = func(*args, **kwargs)
            if rv is not value:
                self._check_size(rv, f"the result of |{name}")
            return rv

        return guarded

    # -- sandbox hooks -----------------------------------------------------------------

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        tick()
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                self.bound((left.bit_length() + right.bit_length()) * 3 // 10,
                           "a product of about {n} digits")
            for seq, n in ((left, right), (right, left)):
                if isinstance(n, int) and isinstance(seq, str | bytes):
                    self.bound(n * len(seq), "repetition with * to {n} items")
                elif isinstance(n, int) and isinstance(seq, list | tuple) and seq:
                    self.bound(n * _weight(seq, self.max_items), "repetition with * to {n} items")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                self.bound(int(right * math.log10(abs(left))), "a power of about {n} digits")
        elif operator == "+":
            if all(isinstance(x, str | bytes | list | tuple) for x in (left, right)):
                self.bound(len(left) + len(right), "the result of + ({n} items)")
        elif operator == "%" and isinstance(left, str):
            values = (list(right) if isinstance(right, tuple)
                      else list(right.values()) if isinstance(right, Mapping) else [right])
            self._check_format(left, values)
        return self.binop_table[operator](left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        tick()
        # Fast path for `inputs.x` on plain dicts (same result: dict methods still win).
        if type(obj) is dict and attribute not in _DICT_ATTRS and attribute in obj:
            return obj[attribute]
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        tick()
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        return super().getitem(obj, argument)

    def get_template(self, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("include, import and extends are not available")

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # Fail at once instead of handing back an undefined that fails later (or never).
        raise SecurityError(f"access to attribute {_shown(attribute)} of a "
                            f"{type(obj).__name__!r} object is not allowed")

    def _allowed(self, obj: Any) -> bool:
        """Only our globals, Jinja's own callables and methods of plain data may be called:
        a rich object that strays into the names (a client, a file) stays inert."""
        if obj is self._range or obj is dict:
            return True
        if isinstance(obj, Macro | LoopContext | BlockReference):
            return True
        if isinstance(obj, types.BuiltinMethodType | types.MethodType):
            return isinstance(obj.__self__, _DATA_TYPES) or obj.__self__ in _DATA_TYPES
        # str.format / format_map, already wrapped by the sandbox's SandboxedFormatter
        return isinstance(getattr(getattr(obj, "__wrapped__", None), "__self__", None), str)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        tick()
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        if not self._allowed(obj):
            raise SecurityError(f"calling a {type(obj).__name__!r} object is not allowed")
        name = getattr(obj, "__name__", "?")
        owner = getattr(obj, "__self__", None)
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None and isinstance(getattr(wrapped, "__self__", None), str):
            mapping = args[0] if name == "format_map" and args else None
            values = list(mapping.values()) if isinstance(mapping, Mapping) else [*args]
            self._check_format(wrapped.__self__, values + list(kwargs.values()))
        elif owner is not None:
            args = self._check_method(owner, name, args, kwargs)
        rv = context.call(obj, *args, **kwargs)
        if rv is not owner:
            self._check_size(rv, f"the result of {name}()")
        return rv

