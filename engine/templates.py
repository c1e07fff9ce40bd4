"""Templates and conditions: Jinja2's immutable sandbox, bounded in size and time.

See FORMAT.md "Expressions and templates"; `default_engine` is the shared instance.
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
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.parser import Parser
from jinja2.runtime import BlockReference, Context, LoopContext, Macro, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from markupsafe import Markup

from .errors import TemplateError

# Private-use characters: nobody types them, so `{%` and `{#` stay literal in config values.
_VALUE_DELIMITERS = {"block_start_string": "\ue000\ue001", "block_end_string": "\ue001\ue000",
                     "comment_start_string": "\ue002\ue003", "comment_end_string": "\ue003\ue002"}
_ITER_FILTER = "\ue000iter"  # not an identifier, so templates cannot name it
_BUILDERS = (nodes.List, nodes.Tuple, nodes.Dict, nodes.Call, nodes.Filter, nodes.BinExpr)
_DATA_TYPES = (str, bytes, int, float, complex, list, tuple, dict, set, frozenset, range,
               KeysView, ValuesView, ItemsView, LoopContext)
_DICT_ATTRS = frozenset(dir(dict))
_PLAIN = frozenset({str, int, float, bool, types.NoneType})
_PCT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)\}")
_NESTED_BRACE = re.compile(r"\{[^{}]*:[^{}]*\{")

# (deadline, template source, time limit) of the render running in this thread / task.
_RUN: contextvars.ContextVar[tuple[float, str, float] | None] = contextvars.ContextVar(
    "flowui_template_run", default=None)


class _Refused(Exception):
    """One of our own bounds, raised deep inside Jinja and reported as TemplateError."""


# The deadline is checked in every sandbox hook (attribute and item access, calls,
# intercepted operators, filters, each `{{ }}` output, `~`), every 256 items of each
# for-loop and at each output chunk. Not interruptible: one long C-level operation
# (sorting or joining a list that arrived big as data) and compiling a template.
def _tick() -> None:
    run = _RUN.get()
    if run is not None and time.monotonic() > run[0]:
        raise _Refused(f"evaluation took longer than {run[2]} s (time limit)")


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
    run = _RUN.get()
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


class _Guarded:
    """A for-loop iterable that checks the deadline as it goes (keeps `len` for `loop.length`)."""

    __slots__ = ("_it",)

    def __init__(self, iterable: Any) -> None:
        self._it = iterable

    def __len__(self) -> int:
        return len(self._it)

    def __iter__(self) -> Iterator[Any]:
        for i, item in enumerate(self._it):
            if not i & 255:
                _tick()
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


class _Sandbox(ImmutableSandboxedEnvironment):
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
        self.filters[_ITER_FILTER] = _Guarded

    # -- bounds ----------------------------------------------------------------------

    def bound(self, n: int, what: str) -> None:
        """Refuse `n` items over the limit; `what` may show the count as `{n}`."""
        if n > self.max_items:
            raise _Refused(f"{what.format(n=n)} exceeds the limit of {self.max_items} items")

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
        _tick()
        if not isinstance(value, str | int | float | bool | types.NoneType):
            self.bound(_weight(value, self.max_items), "an output value")
        return value

    def checked_concat(self, join: Callable[[tuple[Any, ...]], str], items: tuple[Any, ...]) -> str:
        _tick()
        self.bound(sum(_weight(i, self.max_items) for i in items), "the result of ~")
        return join(items)

    def _guard_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        skip = 1 if hasattr(func, "jinja_pass_arg") else 0  # context/environment comes first

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            _tick()
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
        _tick()
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
        _tick()
        # Fast path for `inputs.x` on plain dicts (same result: dict methods still win).
        if type(obj) is dict and attribute not in _DICT_ATTRS and attribute in obj:
            return obj[attribute]
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
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
        _tick()
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


class _Compiled:
    __slots__ = ("chain", "lone", "template", "walk")

    def __init__(self, template: Template, lone: bool, walk: bool = False,
                 chain: tuple[str, tuple[tuple[bool, Any], ...]] | None = None) -> None:
        self.template, self.lone, self.walk, self.chain = template, lone, walk, chain


def _simple_chain(expr: nodes.Expr) -> tuple[str, tuple[tuple[bool, Any], ...]] | None:
    """`inputs.a['b'].c` as ("inputs", ((True, "a"), (False, "b"), (True, "c"))), else None.

    Such plain look-ups are most config templates; they skip Jinja's per-render
    context setup but go through the same sandboxed getattr/getitem.
    """
    steps: list[tuple[bool, Any]] = []
    while True:
        if isinstance(expr, nodes.Getattr):
            steps.append((True, expr.attr))
        elif isinstance(expr, nodes.Getitem) and isinstance(expr.arg, nodes.Const):
            steps.append((False, expr.arg.value))
        elif isinstance(expr, nodes.Name) and expr.name != "self":  # self: a TemplateReference
            return expr.name, tuple(reversed(steps))
        else:
            return None
        expr = expr.node


def _path_text(where: str, path: tuple[Any, ...]) -> str:
    text = where
    for key in path:
        if isinstance(key, int) and not isinstance(key, bool):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else str(key)
    return text


def _excerpt(source: str) -> str:
    return repr(source if len(source) <= 120 else source[:117] + "...")


def _syntax_message(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"syntax error in line {exc.lineno}: {exc.message}"
    return f"cannot compile: {type(exc).__name__}"  # e.g. RecursionError on absurd nesting


def _strings(value: Any, out: list[str], budget: int = 10_000) -> None:
    stack = [value]
    while stack and budget > 0:
        item, budget = stack.pop(), budget - 1
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _template_line(exc: BaseException) -> int | None:
    tb, line = exc.__traceback__, None
    while tb is not None:
        tmpl = tb.tb_frame.f_globals.get("__jinja_template__")
        if tmpl is not None:
            line = tmpl.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line


class TemplateEngine:
    """Renders config values, `transform.template` text and conditions in the sandbox."""

    def __init__(self, *, max_items: int = 100_000, time_limit_s: float = 1.0) -> None:
        self.max_items = max_items
        self.time_limit_s = time_limit_s
        self._value_env = _Sandbox(max_items, **_VALUE_DELIMITERS)
        self._text_env = _Sandbox(max_items)
        # Per source string: a config template is rendered once per node execution.
        self._compile_value = functools.lru_cache(maxsize=2048)(self._build_value)
        self._compile_text = functools.lru_cache(maxsize=512)(self._text_env.from_string)
        self._compile_expr = functools.lru_cache(maxsize=2048)(self._build_expr)

    # -- public ------------------------------------------------------------------------

    @staticmethod
    def is_template(value: str) -> bool:
        return "{{" in value

    @staticmethod
    def contains_template(value: Any) -> bool:
        if isinstance(value, str):
            return "{{" in value
        if isinstance(value, Mapping):
            return any(TemplateEngine.contains_template(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(TemplateEngine.contains_template(v) for v in value)
        return False

    def render_value(self, value: Any, names: Mapping[str, Any], *, where: str = "") -> Any:
        return self._render_value(value, names, where, ())

    def render_text(self, source: str, names: Mapping[str, Any], *, where: str = "") -> str:
        template = self._compile(self._compile_text, source, where)
        return self._run(source, names, where, self._produce, template)

    def evaluate(self, expression: str, names: Mapping[str, Any], *, where: str = "") -> Any:
        compiled = self._compile(self._compile_expr, expression, where)
        return self._run(expression, names, where, self._result, compiled)

    def check_value(self, value: Any) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
        while stack:
            path, item = stack.pop()
            if isinstance(item, str) and "{{" in item:
                try:
                    self._compile_value(item)
                except Exception as exc:
                    problems.append((_path_text("", path), _syntax_message(exc)))
            elif isinstance(item, Mapping):
                stack.extend(((*path, k), v) for k, v in reversed(list(item.items())))
            elif isinstance(item, list | tuple):
                stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))
        return problems

    def check_text(self, source: str) -> str | None:
        return self._check(self._compile_text, source)

    def check_expression(self, expression: str) -> str | None:
        return self._check(self._compile_expr, expression)

    # -- compiling ---------------------------------------------------------------------

    def _expression_template(self, env: _Sandbox, expr: nodes.Expr) -> _Compiled:
        body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
        walk = isinstance(expr, _BUILDERS) or next(expr.find_all(_BUILDERS), None) is not None
        return _Compiled(env.from_string(nodes.Template(body, lineno=1)), True, walk,
                         _simple_chain(expr))

    def _build_value(self, source: str) -> _Compiled:
        env = self._value_env
        ast = env.parse(source)
        # A lone `{{ expr }}` (whitespace control allowed) keeps the expression's type.
        if (len(ast.body) == 1 and isinstance(ast.body[0], nodes.Output)
                and len(ast.body[0].nodes) == 1
                and not isinstance(ast.body[0].nodes[0], nodes.TemplateData)):
            return self._expression_template(env, ast.body[0].nodes[0])
        return _Compiled(env.from_string(ast), False)

    def _build_expr(self, source: str) -> _Compiled:
        parser = Parser(self._value_env, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression",
                                      parser.stream.current.lineno)
        expr.set_environment(self._value_env)
        return self._expression_template(self._value_env, expr)

    def _compile(self, compile_: Callable[[str], Any], source: str, where: str) -> Any:
        try:
            return compile_(source)
        except Exception as exc:
            prefix = f"{where}: " if where else ""
            raise TemplateError(f"{prefix}{_syntax_message(exc)} in {_excerpt(source)}") from None

    @staticmethod
    def _check(compile_: Callable[[str], Any], source: str) -> str | None:
        try:
            compile_(source)
        except Exception as exc:
            return _syntax_message(exc)
        return None

    # -- running -----------------------------------------------------------------------

    def _render_value(self, value: Any, names: Mapping[str, Any], where: str,
                      path: tuple[Any, ...]) -> Any:
        if isinstance(value, str):
            if "{{" not in value:
                return value
            full = _path_text(where, path) if path else where
            compiled = self._compile(self._compile_value, value, full)
            if compiled.lone:
                return self._run(value, names, full, self._result, compiled)
            return self._run(value, names, full, self._produce, compiled.template)
        if isinstance(value, Mapping):
            return {k: self._render_value(v, names, where, (*path, k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            items = [self._render_value(v, names, where, (*path, i)) for i, v in enumerate(value)]
            return items if isinstance(value, list) else tuple(items)
        return value

    def _run(self, source: str, names: Mapping[str, Any], where: str,
             job: Callable[[Any, Mapping[str, Any]], Any], compiled: Any) -> Any:
        token = _RUN.set((time.monotonic() + self.time_limit_s, source, self.time_limit_s))
        try:
            return job(compiled, names)
        except Exception as exc:
            raise self._error(exc, source, names, where) from None
        finally:
            _RUN.reset(token)

    def _produce(self, template: Template, names: Mapping[str, Any]) -> str:
        # Count the output as it is produced, so a runaway loop stops at the bound.
        parts, size = [], 0
        for chunk in template.root_render_func(self._context(template, names)):
            size += len(chunk)
            self._bound_output(size)
            parts.append(chunk)
        return "".join(parts)

    def _bound_output(self, size: int) -> None:
        _tick()
        if size > self.max_items:
            raise _Refused(f"the rendered text exceeds the limit of {self.max_items} items "
                           "(characters)")

    def _context(self, template: Template, names: Mapping[str, Any]) -> Context:
        # Template.new_context would copy the globals out of a ChainMap on every render.
        env = template.environment
        return Context(env, {**env.globals, **names}, template.name, template.blocks,
                       globals=env.globals)

    def _result(self, compiled: _Compiled, names: Mapping[str, Any]) -> Any:
        if compiled.chain is not None:
            env = self._value_env
            head, steps = compiled.chain
            rv = names[head] if head in names else env.globals.get(head, missing)
            if rv is missing:
                rv = env.undefined(name=head)
            for is_attr, key in steps:
                rv = env.getattr(rv, key) if is_attr else env.getitem(rv, key)
        else:
            ctx = self._context(compiled.template, names)
            for _ in compiled.template.root_render_func(ctx):
                pass
            rv = ctx.vars["result"]
        if type(rv) in _PLAIN:
            return rv
        if isinstance(rv, Undefined):
            rv._fail_with_undefined_error()
        if isinstance(rv, Markup):
            return str(rv)
        if compiled.walk and isinstance(rv, Iterator | range | KeysView | ValuesView | ItemsView):
            # Lazy results the expression made (|map, range(), d.items()) become the list
            # they stand for; an iterator passed in as data is handed back untouched.
            items = list(itertools.islice(_Guarded(rv), self.max_items + 1))
            self._value_env.bound(len(items), "the result")
            return items
        if compiled.walk:  # an undefined may hide inside a container built by the expression
            stack, seen = [rv], 0
            while stack and seen <= self.max_items:
                item, seen = stack.pop(), seen + 1
                if isinstance(item, Undefined):
                    item._fail_with_undefined_error()
                if isinstance(item, dict):
                    stack.extend(item.values())
                elif isinstance(item, list | tuple):
                    stack.extend(item)
        return rv

    def _error(self, exc: Exception, source: str, names: Mapping[str, Any],
               where: str) -> TemplateError:
        if isinstance(exc, TemplateError):
            return exc
        if isinstance(exc, UndefinedError | _Refused):
            problem = str(exc)
        elif isinstance(exc, SecurityError):
            problem = f"refused: {exc}"
        elif isinstance(exc, RecursionError):
            problem = "recursion too deep"
        else:
            # Python's messages can quote values (list.index, KeyError, ...): hide any
            # string from the names that the template text does not itself contain.
            problem = f"{type(exc).__name__}: {exc}"
            found: list[str] = []
            _strings(dict(names), found)
            for text in sorted({s for s in found if len(s) >= 4 and s not in source},
                               key=len, reverse=True):
                problem = problem.replace(text, "***")
        line = _template_line(exc) if "\n" in source else None
        at = f" at line {line}" if line else ""
        prefix = f"{where}: " if where else ""
        return TemplateError(f"{prefix}{problem}{at} in {_excerpt(source)}")


default_engine = TemplateEngine()
