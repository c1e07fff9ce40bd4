"""The sandboxed Jinja environment: Jinja's immutable sandbox without include/import/extends
or calls on anything but plain data; every value it builds is bounded to `max_items` items
(by weight, `measure.weight`: shared references count every time, big ints count their
digits), every buffer of output to `max_items` characters (`generated.Buffer`), all
values built in one render to `WORK_FACTOR * max_items`, every format field as it is
applied (`formatting`), and every render to the deadline its caller puts in `RUN`.
Functions, methods, classes and other objects with internals print as `<function range>`
(`shown`).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import types
from collections.abc import Callable, Iterator, Mapping, Sized
from typing import Any, cast

from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter, sync_do_sum
from jinja2.runtime import BlockReference, LoopContext, Macro, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_environment
from markupsafe import Markup

from engine.templates.formatting import PCT_SPEC, BoundedEscapeFormatter, BoundedFormatter
from engine.templates.generated import ITER_FILTER, BoundedCodeGenerator, Buffer, Guarded
from engine.templates.measure import (
    WORK_FACTOR,
    Refused,
    charge,
    depth,
    range_len,
    tick,
    weight,
)
from engine.templates.shown import DATA_TYPES, clean, shown_name

_DICT_ATTRS = frozenset(dir(dict))
# Filters that turn their input into text (or walk all of it): its weight is bounded first.
# Every other filter (a plugin's too) is taken to turn its input into text: default-deny,
# since one missed (`|wordcount` of a value with shared parts) costs unbounded time.
_STRUCTURAL_FILTERS = frozenset({
    "abs", "attr", "batch", "count", "d", "default", "dictsort", "filesizeformat", "first",
    "float", "groupby", "int", "items", "join", "last", "length", "map", "max", "min",
    "random", "reject", "rejectattr", "reverse", "round", "select", "selectattr", "slice",
    "sort", "sum", "unique"})
# Tests that only look at their input's type or a number; the rest (`is lower`) read it
# as text, so its weight is bounded first.
_LOOKING_TESTS = frozenset({
    "boolean", "callable", "defined", "divisibleby", "escaped", "even", "false", "filter",
    "float", "integer", "iterable", "mapping", "none", "number", "odd", "sameas", "sequence",
    "string", "test", "true", "undefined"})
# Filters that collect their whole input: one built lazily (|map, |batch, ...) is
# materialised under the bounds first.
_COLLECT_FILTERS = frozenset({
    "list", "join", "sort", "dictsort", "groupby", "unique", "min", "max", "sum", "last",
    "batch", "slice", "reverse", "random"})
# Filters that sort or scan their input in C or without ticking: limited in length, and
# their compares bounded like `==`.
_SORTING = frozenset({"sort", "dictsort", "groupby", "unique", "min", "max"})
# Filters with a check of their own in `_guard_filter`.
_SPECIAL_FILTERS = frozenset({"pprint", "center", "batch", "slice", "indent", "replace", "join",
                              "format", "wordwrap", "urlize"})
# Methods of dicts whose result is part of the dict: no new data, no weight to check.
_PASS_THROUGH = frozenset({"get", "setdefault", "copy", "keys", "values", "items"})
# Comparisons and the tests that compare (`is eq`, `is in`, ...), as Python functions.
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lteq": operator.le,
    "gt": operator.gt, "gteq": operator.ge, "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b}
_COMPARE_TESTS = frozenset({"in", "eq", "==", "equalto", "ne", "!=", "lt", "<", "lessthan",
                            "le", "<=", "gt", ">", "greaterthan", "ge", ">="})
_CONTAINERS = (list, tuple, dict, set, frozenset)

class _Undefined(StrictUndefined):
    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint or shown_name(self._undefined_name) != "(a computed name)":
            return super()._undefined_message
        return "a name computed at run time is undefined"


def _json_default(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    raise TypeError(f"a {type(value).__name__!r} value cannot be turned into JSON")


def _fromjson(value: str) -> Any:
    return json.loads(value)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], i: int, name: str, default: Any) -> Any:
    return args[i] if len(args) > i else kwargs.get(name, default)


class Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, max_items: int, **options: Any) -> None:
        super().__init__(autoescape=False, undefined=_Undefined, keep_trailing_newline=True,
                         **options)
        self.max_items = max_items
        self.max_work = WORK_FACTOR * max_items
        self.finalize = self._finalize

        def range_(*args: int) -> range:
            rng = range(*args)
            self.bound(range_len(rng), "range() of {n} items")
            return rng

        range_.__name__ = range_.__qualname__ = "range"  # what `{{ range }}` shows
        self._range = range_
        self.globals.clear()  # drops lipsum, cycler, joiner, namespace: objects with internals
        self.globals.update(range=range_, dict=dict)
        self.filters.update(tojson=self._tojson, fromjson=_fromjson, sum=self._sum)
        self.filters = {name: self._guard_filter(name, f) for name, f in self.filters.items()}
        self.filters[ITER_FILTER] = Guarded
        self.tests = {name: self._guard_test(name, cast(Callable[..., Any], f))
                      for name, f in self.tests.items()}

    def new_buffer(self) -> Buffer:
        return Buffer(self)

    # -- bounds ----------------------------------------------------------------------

    def bound(self, n: int, what: str) -> None:
        """Refuse `n` items over the limit; `what` may show the count as `{n}`."""
        if n > self.max_items:
            raise Refused(f"{what.format(n=n)} exceeds the limit of {self.max_items} items")

    def check_result(self, rv: Any, inputs: tuple[Any, ...], what: str) -> None:
        """A value an operation built: bounded in length, and in weight (shared references
        counted every time) beyond what its inputs already weighed: `text.split()` of a
        big text hands back data it was given, `dict.fromkeys(keys, s)` multiplies `s`."""
        if type(rv) is str:  # the usual case, quickly
            if len(rv) > self.max_items:
                self.bound(len(rv), what + " ({n} items)")
            charge(len(rv), self.max_work)
            return
        if not isinstance(rv, str | bytes | list | tuple | dict | set | frozenset):
            return
        self.bound(len(rv), what + " ({n} items)")
        charge(len(rv), self.max_work)
        if isinstance(rv, str | bytes) or weight(rv, self.max_items) <= self.max_items:
            return
        # Rare: only results heavier than the bound pay for weighing their inputs.
        allowed = self.max_items + sum(weight(x, 10 * self.max_items) for x in inputs)
        if weight(rv, allowed) > allowed:
            raise Refused(f"{what} (shared values counted every time) exceeds the limit of "
                          f"{self.max_items} items")

    def take(self, items: Any, what: str) -> list[Any]:
        """An iterator made by the template (|map, |batch, ...) as a list, stopped as soon
        as the weight of what it produced passes the bound: never materialised first."""
        out, total = [], 0
        for i, item in enumerate(items):
            if not i & 255:
                tick()
            total += weight(item, self.max_items)
            if total > self.max_items:
                raise Refused(f"{what} exceeds the limit of {self.max_items} items")
            out.append(item)
        charge(len(out), self.max_work)
        return out

    def _check_format(self, fmt: str, right: Any) -> Any:
        """`fmt % right` (and |format): widths, precisions and the values, counted before
        formatting. Returns `right` with opaque objects replaced, so `%s`/`%r` show no
        internals."""
        specs = list(itertools.islice(PCT_SPEC.finditer(fmt), self.max_items + 1))
        self.bound(len(specs), "{n} format fields")
        widths = sum(int(w) if len(w) < 10 else 10**10
                     for m in specs for w in m.groups() if w and w != "*")
        values = list(right) if isinstance(right, tuple) else [right]
        if "*" in fmt:  # widths taken from the arguments
            widths += sum(v for v in values if isinstance(v, int) and v > 0)
        self.bound(widths, "format widths of {n}")
        if isinstance(right, Mapping):  # `%(a)s` may name the same value any number of times
            size = len(specs) * weight(right, self.max_items)
        else:
            size = sum(weight(v, self.max_items) for v in values)
        self.bound(widths + size, "the text being formatted")
        return clean(right)

    def _check_replace(self, s: Any, old: Any, new: Any, count: Any) -> None:
        if all(isinstance(x, str | bytes) for x in (s, old, new)):
            hits = s.count(old) if old else len(s) + 1
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            self.bound(len(s) + hits * max(0, len(new) - len(old)),
                       "the result of replace ({n} characters)")

    def _joined(self, sep: Any, items: Any) -> list[Any]:
        items = self.take(items, "joining items")
        size = sum(weight(item, self.max_items) for item in items)
        self.bound(size + len(sep) * max(0, len(items) - 1), "the result of join")
        return [clean(item) for item in items]

    def _check_method(self, owner: Any, name: str, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Refuse, before they run, methods of data whose output size an argument controls."""
        if isinstance(owner, list | tuple) and name in ("index", "count") and args:
            self._check_contains(args[0], owner)  # compares with every item, in C
        elif isinstance(owner, LoopContext) and name == "changed":
            self._check_compare(list(args), owner._last_changed_value)
        if isinstance(owner, str | bytes):
            sep = _arg(args, kwargs, 0, "sep", None)
            if name in ("split", "rsplit") and type(sep) is type(owner) and sep:
                # counted before the parts are built (a big text split on a common letter)
                parts = cast(Any, owner).count(sep) + 1
                most = _arg(args, kwargs, 1, "maxsplit", -1)
                if isinstance(most, int) and most >= 0:
                    parts = min(parts, most + 1)
                self.bound(parts, f"{name}() into {{n}} parts")
            elif name in ("center", "ljust", "rjust", "zfill"):
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
            elif name == "translate" and args and isinstance(args[0], Mapping | list | tuple):
                table = args[0].values() if isinstance(args[0], Mapping) else args[0]
                longest = max((len(v) for v in table if isinstance(v, str | bytes)), default=1)
                self.bound(len(owner) * longest, "the result of translate() ({n} characters)")
        elif isinstance(owner, int) and name == "to_bytes":
            self.bound(_arg(args, kwargs, 0, "length", 1), "to_bytes() length {n}")
        return args

    def _finalize(self, value: Any) -> Any:
        # Every `{{ }}` of a statement template passes here before str(): catch
        # `[x] * n`-style blow-ups before they are turned into text.
        tick()
        if isinstance(value, str | int | float | types.NoneType):
            return value
        self.bound(weight(value, self.max_items), "an output value")
        return clean(value)

    def checked_concat(self, join: Callable[[tuple[Any, ...]], str], items: tuple[Any, ...]) -> str:
        tick()
        self.bound(sum(weight(i, self.max_items) for i in items), "the result of ~")
        rv = join(tuple(clean(i) for i in items))
        charge(len(rv), self.max_work)
        return rv

    def _tojson(self, value: Any, indent: int | str | None = None) -> str:
        """Plain JSON, compact unless `indent`; keys keep their order and <>&' are NOT
        HTML-escaped (unlike Jinja's tojson), because nothing here is HTML.

        The input's weight is bounded by the filter guard; an indent repeats on every
        line, once per level of nesting, so the indented text is counted as produced
        (the depth, at most the weight, bounds each chunk)."""
        if indent is None:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                              default=_json_default)
        size = len(indent) if isinstance(indent, str) else indent
        self.bound(size * weight(value, self.max_items), "|tojson indented to {n} characters")
        encoder = json.JSONEncoder(ensure_ascii=False, indent=indent, separators=(",", ": "),
                                   default=_json_default)
        parts, total = [], 0
        for i, chunk in enumerate(encoder.iterencode(value)):
            if not i & 255:
                tick()
            total += len(chunk)
            self.bound(total, "the result of |tojson ({n} characters)")
            parts.append(chunk)
        return "".join(parts)

    @pass_environment
    def _sum(self, environment: Any, iterable: Any, attribute: Any = None,
             start: Any = 0) -> Any:
        """|sum: Python's sum() copies the running total for every list it adds (quadratic
        time, unticked); lists and tuples are concatenated in one pass instead."""
        if not isinstance(start, list | tuple):
            return sync_do_sum(environment, iterable, attribute, start)
        if attribute is not None:
            iterable = map(make_attrgetter(environment, attribute), iterable)
        out = list(start)
        for i, part in enumerate(iterable):
            if not i & 255:
                tick()
            if not isinstance(part, type(start)):
                raise TypeError(f"can only concatenate {type(start).__name__} "
                                f"(not {type(part).__name__!r}) to {type(start).__name__}")
            out.extend(part)
            self.bound(len(out), "the result of |sum ({n} items)")
        return out if isinstance(start, list) else tuple(out)

    def _guard_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        skip = 1 if hasattr(func, "jinja_pass_arg") else 0  # context/environment comes first
        text, collect = name not in _STRUCTURAL_FILTERS, name in _COLLECT_FILTERS
        sorting, special = name in _SORTING, name in _SPECIAL_FILTERS
        of_input, of_result = f"the input of |{name}", f"the result of |{name}"

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            tick()
            value, rest = args[skip], args[skip + 1:]
            if collect and isinstance(value, Iterator):
                value = self.take(value, of_input)
            if sorting:  # superlinear or Python-level work over the whole input, and
                # compares that walk nested values in C (shared ones exponentially)
                self.bound(len(value) if isinstance(value, Sized) else 0, of_input + " ({n} items)")
                self._check_compare(value, value)
            if text:
                if type(value) is str:
                    self.bound(len(value), of_input)
                else:
                    self.bound(weight(value, self.max_items), of_input)
                    value = clean(value)
            if not special:
                pass
            elif name == "pprint":  # pure Python, unticked; indents every line by depth
                self.bound(weight(value, self.max_items) * (depth(value, self.max_items) + 1),
                           "|pprint of {n} (items x depth)")
            elif name in ("center", "batch", "slice"):
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
            elif name == "format" and isinstance(value, str):
                if kwargs:
                    kwargs = self._check_format(value, kwargs)
                else:
                    rest = self._check_format(value, rest)
            elif name in ("wordwrap", "urlize") and isinstance(value, str):
                # Inserted at every break / link: at most one per word or `width` characters.
                extra = sum(weight(v, self.max_items) for v in (*rest, *kwargs.values())
                            if isinstance(v, str))
                pieces = value.count(" ") + value.count("\n") + len(value) // max(
                    1, _arg(rest, kwargs, 0, "width", 79) if name == "wordwrap" else 1) + 1
                self.bound(len(value) + pieces * extra, f"the result of |{name}")
            args = (*args[:skip], value, *rest)
            rv = func(*args, **kwargs)
            if rv is not value:
                self.check_result(rv, (value, *rest, *kwargs.values()), of_result)
            return rv

        return guarded

    def _check_compare(self, left: Any, right: Any) -> None:
        """Comparing two containers walks both in C, unticked, and shared references make
        that walk exponential (`a = [b, b]`, `b = [c, c]`, ...): refuse when both weigh
        more than twice the item bound."""
        if isinstance(left, _CONTAINERS) and isinstance(right, _CONTAINERS):
            cap = 2 * self.max_items
            if weight(left, cap) > cap and weight(right, cap) > cap:
                raise Refused(f"comparing two values of over {cap} items each (shared "
                              "values counted every time) is not allowed")

    def checked_tuple(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        """A tuple literal: tuples hash recursively (dict keys, `in`, |unique), so nesting
        shared tuples (`a = (b, b)`, `b = (c, c)`, ...) would hash for hours, unticked."""
        if any(type(v) is tuple for v in value):
            cap = self.max_items
            if weight(value, cap) > cap:
                raise Refused(f"a tuple of over {cap} items (shared values counted every "
                              "time) is not allowed")
        return value

    def _check_contains(self, item: Any, seq: Any) -> None:
        """`item in seq`, `seq.index(item)`: `item` compared with each entry."""
        if isinstance(item, _CONTAINERS) and isinstance(seq, list | tuple):
            for entry in seq[:1000]:  # a sample: heavy entries come from few built values
                self._check_compare(item, entry)

    def compare(self, left: Any, *rest: Any) -> Any:
        """`left op1 right1 op2 right2 ...`, as Python chains comparisons."""
        tick()
        rv: Any = True
        for i in range(0, len(rest), 2):
            op, right = rest[i], rest[i + 1]
            if op in ("in", "notin"):
                self._check_contains(left, right)
            else:
                self._check_compare(left, right)
            rv = _COMPARE[op](left, right)
            if not rv:
                return rv
            left = right
        return rv

    def _guard_test(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        compares = name in _COMPARE_TESTS
        reads = not compares and name not in _LOOKING_TESTS

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            tick()
            if compares and len(args) >= 2:
                self._check_compare(args[-2], args[-1])
            elif reads and args and type(args[0]) is not str:
                self.bound(weight(args[0], self.max_items), f"the input of `is {name}`")
            return func(*args, **kwargs)

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
                    self.bound(n * weight(seq, self.max_items), "repetition with * to {n} items")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                self.bound(int(right * math.log10(abs(left))), "a power of about {n} digits")
        elif operator == "+":
            if all(isinstance(x, str | bytes | list | tuple) for x in (left, right)):
                self.bound(len(left) + len(right), "the result of + ({n} items)")
        elif operator == "%" and isinstance(left, str):
            right = self._check_format(left, right)
        rv = self.binop_table[operator](left, right)
        if isinstance(rv, str | bytes | list | tuple):
            charge(len(rv), self.max_work)
        return rv

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

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's own wrapping of str.format / format_map, with `BoundedFormatter`: a fresh one
        per call, since it counts the text it produces."""
        if (not isinstance(value, types.MethodType | types.BuiltinMethodType)
                or value.__name__ not in ("format", "format_map")
                or not isinstance(value.__self__, str)):
            return None
        fmt: str = value.__self__
        by_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if by_map and (kwargs or len(args) != 1):
                raise TypeError("format_map() takes exactly one argument")
            formatter = (BoundedEscapeFormatter(self, escape=fmt.escape) if isinstance(fmt, Markup)
                         else BoundedFormatter(self))
            if by_map:
                return type(fmt)(formatter.vformat(fmt, (), args[0]))
            return type(fmt)(formatter.vformat(fmt, args, kwargs))

        return functools.update_wrapper(wrapper, value)

    def get_template(self, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("include, import and extends are not available")

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # Fail at once instead of handing back an undefined that fails later (or never).
        raise SecurityError(f"access to attribute {shown_name(attribute)} of a "
                            f"{type(obj).__name__!r} object is not allowed")

    def _allowed(self, obj: Any) -> bool:
        """Only our globals, Jinja's own callables and methods of plain data may be called:
        a rich object that strays into the names (a client, a file) stays inert."""
        if obj is self._range or obj is dict:
            return True
        if isinstance(obj, Macro | LoopContext | BlockReference):
            return True
        if isinstance(obj, types.BuiltinMethodType | types.MethodType):
            return isinstance(obj.__self__, DATA_TYPES) or obj.__self__ in DATA_TYPES
        # str.format / format_map, already wrapped by `wrap_str_format`
        return isinstance(getattr(getattr(obj, "__wrapped__", None), "__self__", None), str)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        tick()
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        if not self._allowed(obj):
            raise SecurityError(f"calling a {type(obj).__name__!r} object is not allowed")
        name = getattr(obj, "__name__", "?")
        owner = getattr(obj, "__self__", None)
        if (obj is dict or (owner is dict and name == "fromkeys")) and args:
            if isinstance(args[0], Iterator):  # built lazily: materialised under the bound
                args = (self.take(args[0], f"the input of {name}()"), *args[1:])
            elif isinstance(args[0], Sized):
                self.bound(len(args[0]), f"{name}() of {{n}} items")  # before building it
        if owner is not None:
            args = self._check_method(owner, name, args, kwargs)
        rv = context.call(obj, *args, **kwargs)
        if rv is not owner and not (isinstance(owner, dict) and name in _PASS_THROUGH):
            self.check_result(rv, (owner, *args, *kwargs.values()), f"the result of {name}()")
        return rv
