"""Static analysis of Python source for the code.* nodes: functions, cyclomatic
complexity (radon's numbers), issues, suggestions and a quality score.

Pure functions of their arguments; nothing here knows about the engine.
"""

from __future__ import annotations

import ast
import math
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from radon.visitors import ComplexityVisitor


class CodeError(ValueError):
    """The code cannot be analysed (syntax error, nesting too deep); the message says
    where."""


@dataclass(frozen=True, slots=True)
class Function:
    """One `def` or `async def` (lambdas are expressions, not functions here)."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    name: str  # qualified: "Class.method", "outer.inner"
    in_class: bool  # defined directly in a class body: its first parameter is bound
    nested: bool  # defined inside another function


@dataclass(frozen=True, slots=True)
class Thresholds:
    max_arguments: int = 5
    max_function_lines: int = 50
    max_nesting: int = 4
    max_complexity: int = 10
    require_docstrings: bool = True


@dataclass(frozen=True, slots=True)
class Source:
    """Parsed code with what every analysis needs."""

    functions: list[Function]
    bare_excepts: list[tuple[int, str | None]]  # (line, enclosing function)


# --- parsing ----------------------------------------------------------------------------------

# Warnings filters are process-wide: the lock keeps concurrent analyses from
# restoring each other's filters out of order.
_WARNINGS_LOCK = threading.Lock()


def parse(code: str) -> Source:
    """Parses `code`; raises CodeError with line, column and the offending line."""
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            # Invalid escapes and the like in the analysed code are not our warnings.
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except SyntaxError as e:
        raise CodeError(_syntax_message(e, code)) from None
    except (RecursionError, MemoryError):
        raise CodeError("the code nests too deeply to be parsed (an expression or block "
                        "several thousand levels deep); split it up") from None
    except ValueError as e:  # e.g. null bytes on older Pythons
        raise CodeError(f"the code cannot be parsed: {e}") from None
    return Source(*_walk(tree))


def _syntax_message(e: SyntaxError, code: str) -> str:
    line = e.lineno
    if not line:  # e.g. null bytes: no place to point at
        return f"the code cannot be parsed: {e.msg}"
    text = e.text
    if text is None and 0 < line <= len(code.splitlines()):
        text = code.splitlines()[line - 1]
    where = f"line {line}, column {e.offset}" if e.offset else f"line {line}"
    offending = f": {text.strip()!r}" if text and text.strip() else ""
    return f"the code has a syntax error at {where}: {e.msg}{offending}; fix it and run again"


def _walk(tree: ast.Module) -> tuple[list[Function], list[tuple[int, str | None]]]:
    """Every function (in source order) and every bare `except:` with its function.

    Iterative and through statements only: expressions can nest thousands deep.
    """
    functions: list[Function] = []
    bare: list[tuple[int, str | None]] = []
    # (node, name prefix, enclosing function, directly in a class body)
    stack: list[tuple[ast.AST, str, str | None, bool]] = [
        (n, "", None, False) for n in reversed(tree.body)]
    while stack:
        node, prefix, func, in_class = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = prefix + node.name
            functions.append(Function(node, name, in_class, func is not None))
            children: list[tuple[ast.AST, str, str | None, bool]] = [
                (c, name + ".", name, False) for c in node.body]
        elif isinstance(node, ast.ClassDef):
            children = [(c, f"{prefix}{node.name}.", func, True) for c in node.body]
        else:
            if isinstance(node, ast.ExceptHandler) and node.type is None:
                bare.append((node.lineno, func))
            children = [(c, prefix, func, False) for c in ast.iter_child_nodes(node)
                        if isinstance(c, ast.stmt | ast.ExceptHandler | ast.match_case)]
        stack.extend(reversed(children))
    return functions, bare


# --- functions ----------------------------------------------------------------------------------


def parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Parameter names in signature order, `*args` and `**kwargs` with their stars."""
    a = node.args
    names = [p.arg for p in (*a.posonlyargs, *a.args)]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    names += [p.arg for p in a.kwonlyargs]
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return names


def has_docstring(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return ast.get_docstring(node, clean=False) is not None


def extract_functions(src: Source) -> list[dict[str, Any]]:
    return [{"name": f.name, "args": parameters(f.node), "lineno": f.node.lineno,
             "end_lineno": f.node.end_lineno, "has_docstring": has_docstring(f.node),
             "async": isinstance(f.node, ast.AsyncFunctionDef),
             "decorators": [_short(ast.unparse(d)) for d in f.node.decorator_list]}
            for f in src.functions]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --- complexity ---------------------------------------------------------------------------------


def function_complexity(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Radon's cyclomatic complexity of one function: radon's own visitor, so that
    decorators, closures (not counted in their parent) and lambdas (counted in
    their parent) are treated exactly as radon treats them."""
    try:
        return int(ComplexityVisitor.from_ast(node).functions[0].complexity)
    except RecursionError:
        raise CodeError(f"function {node.name!r} at line {node.lineno} nests expressions "
                        "too deeply to measure its complexity") from None


def complexity(src: Source) -> dict[str, Any]:
    """{"functions": {name: cc}, "average", "max"} over every function, methods and
    nested functions included. A name defined twice (a property's getter and
    setter, a conditional definition) is keyed "name@line" from its second
    definition on."""
    per_function: dict[str, int] = {}
    for f in src.functions:
        key = f.name if f.name not in per_function else f"{f.name}@{f.node.lineno}"
        per_function[key] = function_complexity(f.node)
    values = list(per_function.values())
    return {"functions": per_function,
            "average": round(sum(values) / len(values), 2) if values else 0.0,
            "max": max(values, default=0)}


# --- issues -------------------------------------------------------------------------------------

_MUTABLE_LITERALS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
_MUTABLE_CALLS = frozenset({"list", "dict", "set", "bytearray", "defaultdict", "OrderedDict",
                            "deque", "Counter"})
_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
           ast.TryStar, ast.Match)
# Definitions that share another definition's docstring or are typing-only.
_NO_DOCSTRING_NEEDED = ("overload", "setter", "deleter", "override")


def detect_issues(src: Source, limits: Thresholds) -> list[dict[str, Any]]:
    """Issues sorted by line: {kind, function, line, message}, plus `value` and
    `limit` for threshold kinds and `argument`/`value` for mutable defaults."""
    issues = [_issue("bare_except", func, line,
                     f"bare `except:` at line {line}{_in(func)} catches every exception, "
                     "including KeyboardInterrupt and SystemExit")
              for line, func in src.bare_excepts]
    for f in src.functions:
        issues += _function_issues(f, limits)
    issues.sort(key=lambda i: (i["line"], i["kind"]))
    return issues


def _issue(kind: str, function: str | None, line: int, message: str,
           **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "function": function, "line": line, "message": message, **extra}


def _in(function: str | None) -> str:
    return f" in {function}" if function else " at module level"


def _function_issues(f: Function, limits: Thresholds) -> Iterator[dict[str, Any]]:
    node, name, line = f.node, f.name, f.node.lineno
    a = node.args
    positional = [*a.posonlyargs, *a.args]
    with_defaults = zip(positional[len(positional) - len(a.defaults):], a.defaults, strict=True)
    for param, default in [*with_defaults, *zip(a.kwonlyargs, a.kw_defaults, strict=True)]:
        if default is not None and _is_mutable(default):
            text = _short(ast.unparse(default), 40)
            yield _issue("mutable_default", name, default.lineno,
                         f"{name}: parameter {param.arg!r} defaults to the mutable {text}, "
                         "which is created once and shared by every call",
                         argument=param.arg, value=text)

    count = _argument_count(f)
    if count > limits.max_arguments:
        yield _issue("too_many_arguments", name, line,
                     f"{name} takes {count} arguments (limit {limits.max_arguments})",
                     value=count, limit=limits.max_arguments)

    length = (node.end_lineno or line) - line + 1
    if length > limits.max_function_lines:
        yield _issue("long_function", name, line,
                     f"{name} is {length} lines long (limit {limits.max_function_lines})",
                     value=length, limit=limits.max_function_lines)

    depth, deep_line = _nesting(node.body, limits.max_nesting)
    if deep_line is not None:
        yield _issue("deep_nesting", name, deep_line,
                     f"{name} nests blocks {depth} levels deep (limit {limits.max_nesting}), "
                     f"first past the limit at line {deep_line}",
                     value=depth, limit=limits.max_nesting)

    cc = function_complexity(node)
    if cc > limits.max_complexity:
        yield _issue("high_complexity", name, line,
                     f"{name} has cyclomatic complexity {cc} (limit {limits.max_complexity})",
                     value=cc, limit=limits.max_complexity)

    if limits.require_docstrings and _needs_docstring(f) and not has_docstring(node):
        kind = "method" if f.in_class else "function"
        yield _issue("missing_docstring", name, line, f"public {kind} {name} has no docstring")


def _is_mutable(default: ast.expr) -> bool:
    if isinstance(default, _MUTABLE_LITERALS):
        return True
    if isinstance(default, ast.Call):
        callee = default.func
        called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
        return called in _MUTABLE_CALLS
    return False


def _argument_count(f: Function) -> int:
    """Named parameters a caller passes: not *args/**kwargs, and not a method's
    `self`/`cls`, which the call supplies."""
    a = f.node.args
    count = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
    static = any(_decorator_name(d) == "staticmethod" for d in f.node.decorator_list)
    if f.in_class and not static and (a.posonlyargs or a.args):
        count -= 1
    return count


def _decorator_name(d: ast.expr) -> str:
    if isinstance(d, ast.Call):
        d = d.func
    if isinstance(d, ast.Attribute):
        return d.attr
    return d.id if isinstance(d, ast.Name) else ""


def _needs_docstring(f: Function) -> bool:
    """Public functions and methods reachable from outside: not nested in a function,
    not private (which also exempts dunders), not a setter/overload stub."""
    short = f.name.rsplit(".", 1)[-1]
    return (not f.nested and not short.startswith("_")
            and not any(_decorator_name(d) in _NO_DOCSTRING_NEEDED
                        for d in f.node.decorator_list))


def _nesting(body: Sequence[ast.stmt], limit: int) -> tuple[int, int | None]:
    """(deepest block nesting, line of the first block past `limit` or None).

    A block (if/for/while/with/try/match) inside n blocks is at depth n + 1; an
    `elif` stays at its `if`'s depth. Nested functions and classes are not
    entered: their own functions are measured on their own.
    """
    deepest, first_past = 0, None
    stack: list[tuple[ast.stmt, int]] = [(s, 1) for s in reversed(body)]
    while stack:
        stmt, depth = stack.pop()
        if not isinstance(stmt, _BLOCKS):
            continue
        deepest = max(deepest, depth)
        if depth > limit and first_past is None:
            first_past = stmt.lineno
        inner: list[tuple[ast.stmt, int]] = []
        if isinstance(stmt, ast.Match):
            inner = [(s, depth + 1) for case in stmt.cases for s in case.body]
        elif isinstance(stmt, ast.Try | ast.TryStar):
            inner = [(s, depth + 1) for part in (stmt.body, *(h.body for h in stmt.handlers),
                                                  stmt.orelse, stmt.finalbody) for s in part]
        else:
            inner = [(s, depth + 1) for s in stmt.body]
            orelse = getattr(stmt, "orelse", [])
            if (isinstance(stmt, ast.If) and len(orelse) == 1 and isinstance(orelse[0], ast.If)
                    and orelse[0].col_offset == stmt.col_offset):  # `elif`, not `else: if`
                inner.append((orelse[0], depth))
            else:
                inner += [(s, depth + 1) for s in orelse]
        stack.extend(reversed(inner))
    return deepest, first_past


# --- suggestions ----------------------------------------------------------------------------------


def suggest(issue: Mapping[str, Any]) -> str:
    """A concrete fix for one issue; issues from other sources (without the extra
    fields) get the same advice in general terms."""
    kind = issue.get("kind")
    func = issue.get("function")
    fn = f"`{func}`" if func else "the module-level code"
    line = issue.get("line")
    at = f" at line {line}" if isinstance(line, int) else ""
    value, limit = issue.get("value"), issue.get("limit")
    size = f" ({value}, limit {limit})" if value is not None and limit is not None else ""
    if kind == "bare_except":
        return (f"In {fn}, replace the bare `except:`{at} with the exceptions you expect, "
                "e.g. `except (ValueError, KeyError) as e:`, or at least `except Exception:`; "
                "a bare except also swallows KeyboardInterrupt and SystemExit and hides bugs.")
    if kind == "mutable_default":
        arg = issue.get("argument")
        if isinstance(arg, str):
            default = issue.get("value", "[]")
            return (f"In {fn}, change `{arg}={default}` to `{arg}=None` and create a fresh "
                    f"value in the body: `if {arg} is None: {arg} = {default}`; the default "
                    "object is shared by every call, so changes leak from one call to the next.")
        return (f"In {fn}, default mutable parameters to `None` and create the list/dict in "
                "the body; a mutable default is shared by every call.")
    if kind == "too_many_arguments":
        return (f"{_cap(fn)} takes too many arguments{size}: group related ones into a "
                "dataclass or TypedDict, make optional ones keyword-only with defaults "
                "(after `*`), or split the function by responsibility.")
    if kind == "long_function":
        return (f"{_cap(fn)} is too long{size}: extract its separate steps into well-named "
                "helper functions so each can be read and tested on its own.")
    if kind == "deep_nesting":
        return (f"{_cap(fn)} nests blocks too deeply{size}{at}: return or `continue` early "
                "with guard clauses instead of wrapping code in `if`, invert conditions, and "
                "move inner loop bodies into helper functions.")
    if kind == "high_complexity":
        return (f"{_cap(fn)} has too many branches{size}: split it into smaller functions, "
                "replace long if/elif chains with a dict lookup, and merge duplicated "
                "conditions.")
    if kind == "missing_docstring":
        return (f"Add a docstring to {fn}: one line on what it does, then its arguments, "
                "return value and the exceptions it raises.")
    message = issue.get("message")
    detail = f": {message}" if isinstance(message, str) and message else ""
    return f"Review {fn}{at}{detail}."


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- score ----------------------------------------------------------------------------------------

# Penalty per issue, by how likely the kind is to be a real bug.
WEIGHTS: dict[str, float] = {
    "bare_except": 1.5, "mutable_default": 1.5,
    "high_complexity": 1.0, "deep_nesting": 1.0,
    "too_many_arguments": 0.5, "long_function": 0.5,
    "missing_docstring": 0.25,
}
OTHER_WEIGHT = 0.5  # a kind not listed above
CALM_AVERAGE = 5  # radon's rank A ends at 5
CALM_MAX = 10  # McCabe's recommended limit


def quality_score(average: float, maximum: float, kinds: Sequence[str]) -> float:
    """Score from 0 (worst) to 10 (best).

        penalty = sum of WEIGHTS[kind] over the issues (OTHER_WEIGHT for other kinds)
                  + 0.5 * max(0, average - 5) + 0.25 * max(0, max - 10)
        score   = round(10 * exp(-penalty / 10), 2)

    Every term only grows with more issues, worse kinds or higher complexity, and
    exp(-x) falls, so nothing bad ever raises the score. No issues, an average
    complexity of at most 5 and no function above 10 give exactly 10; a penalty of
    about 70 or more rounds to 0.
    """
    penalty = sum(WEIGHTS.get(k, OTHER_WEIGHT) for k in kinds)
    penalty += 0.5 * max(0.0, average - CALM_AVERAGE) + 0.25 * max(0.0, maximum - CALM_MAX)
    return round(10 * math.exp(-penalty / 10), 2)
