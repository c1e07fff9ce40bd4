"""Templates and conditions: Jinja2's immutable sandbox, bounded in size and time.

See FORMAT.md "Expressions and templates"; `default_engine` is the shared instance.
"""

from __future__ import annotations

import functools
import re
import time
import types
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from jinja2 import nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.parser import Parser
from jinja2.runtime import Context, Undefined
from jinja2.utils import missing
from markupsafe import Markup

from engine.errors import TemplateError
from engine.templates.detect import contains_template
from engine.templates.generated import Guarded
from engine.templates.measure import RUN, Refused, tick, weight
from engine.templates.sandbox import Sandbox
from engine.templates.shown import clean

# Private-use characters: nobody types them, so `{%` and `{#` stay literal in config values.
_VALUE_DELIMITERS = {"block_start_string": "\ue000\ue001", "block_end_string": "\ue001\ue000",
                     "comment_start_string": "\ue002\ue003", "comment_end_string": "\ue003\ue002"}
_BUILDERS = (nodes.List, nodes.Tuple, nodes.Dict, nodes.Call, nodes.Filter, nodes.BinExpr)
_PLAIN = frozenset({str, int, float, bool, types.NoneType})
# What Python's messages may show of our objects: addresses and qualified names.
_INTERNALS = re.compile(r" at 0x[0-9a-fA-F]+|\b(?:jinja2|markupsafe|engine)(?:\.\w+)+\.(?=\w)"
                        r"|\b[\w.]*<locals>\.")


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


def _handed_in(value: Any, names: Mapping[str, Any]) -> bool:
    """Whether `value` is a name's value or one of its entries: data passing through."""
    for v in names.values():
        if v is value or (type(v) is dict and any(w is value for w in v.values())):
            return True
    return False


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
        self._value_env = Sandbox(max_items, **_VALUE_DELIMITERS)
        self._text_env = Sandbox(max_items)
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
        return contains_template(value)

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

    def _expression_template(self, env: Sandbox, expr: nodes.Expr) -> _Compiled:
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
        # Through a local: Python 3.11 compiles `RUN.set()` on an imported name as a
        # module attribute (no LOAD_METHOD), which costs ~25 ns per call here.
        run = RUN
        token = run.set([time.monotonic() + self.time_limit_s, source, self.time_limit_s, 0])
        try:
            return job(compiled, names)
        except Exception as exc:
            raise self._error(exc, source, names, where) from None
        finally:
            run.reset(token)

    def _produce(self, template: Template, names: Mapping[str, Any]) -> str:
        # Count the output as it is produced, so a runaway loop stops at the bound.
        parts, size = [], 0
        for chunk in template.root_render_func(self._context(template, names)):
            size += len(chunk)
            self._bound_output(size)
            parts.append(chunk)
        return "".join(parts)

    def _bound_output(self, size: int) -> None:
        tick()
        if size > self.max_items:
            raise Refused(f"the rendered text exceeds the limit of {self.max_items} items "
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
        env = self._value_env
        if callable(rv):  # a function, method, class or macro: described, never handed out
            return clean(rv)
        if compiled.walk and isinstance(rv, Iterator | range | KeysView | ValuesView | ItemsView):
            # Lazy results the expression made (|map, range(), d.items()) become the list
            # they stand for; an iterator passed in as data is handed back untouched.
            return clean(env.take(Guarded(rv), "the result"))
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
            if weight(rv, self.max_items) > self.max_items:
                if _handed_in(rv, names):
                    return rv
                # Heavier than the bound: allowed only as heavy as the data it came from
                # (`text.split()`), never more (shared values counted every time).
                env.check_result(rv, tuple(names.values()), "the result")
            return clean(rv)
        return rv

    def _error(self, exc: Exception, source: str, names: Mapping[str, Any],
               where: str) -> TemplateError:
        if isinstance(exc, TemplateError):
            return exc
        if isinstance(exc, UndefinedError | Refused):
            problem = _INTERNALS.sub("", str(exc))
        elif isinstance(exc, SecurityError):
            problem = _INTERNALS.sub("", f"refused: {exc}")
        elif isinstance(exc, RecursionError):
            problem = "recursion too deep"
        else:
            # Python's messages can quote values (list.index, KeyError, ...): hide any
            # string from the names that the template text does not itself contain.
            problem = _INTERNALS.sub("", f"{type(exc).__name__}: {exc}")
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
