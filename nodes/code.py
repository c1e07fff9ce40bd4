"""Code review nodes: functions, complexity, issues, suggestions and a quality score
for Python source (the analysis itself is in nodes/code_analysis.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import Field

from engine import Node, NodeConfig, NodeContext, NodeError, Port, in_thread
from nodes import code_analysis as analysis

T = TypeVar("T")

CODE = Port("code", "string", description="Python source code")


async def _analyse(code: str, work: Callable[[analysis.Source], T]) -> T:
    """Parses and analyses `code` in a worker thread. A 2,000-line file takes 15-30 ms
    per analysis, long enough to stall the editor; the thread hop costs about 0.03 ms,
    so even small inputs take it."""
    def job() -> T:
        return work(analysis.parse(code))
    try:
        return await in_thread(job)
    except analysis.CodeError as e:
        raise NodeError(str(e), retryable=False) from None


class ExtractFunctions(Node):
    type = "code.extract_functions"
    remote_capable = True  # pure: may run on a Dask worker
    title = "Extract functions"
    category = "Code"
    icon = "code"
    description = ("Lists the functions and methods in Python code: qualified name "
                   "(Class.method, outer.inner), parameters, first and last line, docstring.")
    inputs = (CODE,)
    outputs = (Port("functions", "array",
                    description="[{name, args, lineno, end_lineno, has_docstring, async, "
                                "decorators}] in source order"),)

    async def run(self, ctx: NodeContext, code: str) -> dict[str, Any]:
        return {"functions": await _analyse(code, analysis.extract_functions)}


class Complexity(Node):
    type = "code.complexity"
    remote_capable = True  # pure: may run on a Dask worker
    title = "Complexity"
    category = "Code"
    icon = "complexity"
    description = ("Cyclomatic complexity of each function in Python code, as radon "
                   "counts it, with the average and the maximum.")
    inputs = (CODE,)
    outputs = (Port("complexity", "object",
                    description='{"functions": {name: integer}, "average": number, '
                                '"max": integer}'),)

    async def run(self, ctx: NodeContext, code: str) -> dict[str, Any]:
        return {"complexity": await _analyse(code, analysis.complexity)}


class DetectIssues(Node):
    type = "code.detect_issues"
    remote_capable = True  # pure: may run on a Dask worker
    title = "Detect issues"
    category = "Code"
    icon = "issues"
    description = ("Finds common problems in Python code: bare except, mutable defaults, "
                   "too many arguments, long functions, deep nesting, high complexity, "
                   "missing docstrings.")
    inputs = (CODE,)
    outputs = (Port("issues", "array",
                    description="[{kind, function, line, message}] sorted by line"),)

    class Config(NodeConfig):
        max_arguments: int = Field(5, ge=0, description="Most parameters a function may take "
                                                        "(self/cls and *args/**kwargs not "
                                                        "counted)")
        max_function_lines: int = Field(50, ge=1, description="Most lines from `def` to the "
                                                              "function's last line")
        max_nesting: int = Field(4, ge=0, description="Most nested if/for/while/with/try/"
                                                       "match blocks inside a function")
        max_complexity: int = Field(10, ge=1, description="Highest cyclomatic complexity "
                                                          "allowed per function")
        require_docstrings: bool = Field(True, description="Report public functions and "
                                                           "methods without a docstring")

    async def run(self, ctx: NodeContext, code: str) -> dict[str, Any]:
        c = self.config
        limits = analysis.Thresholds(c.max_arguments, c.max_function_lines, c.max_nesting,
                                     c.max_complexity, c.require_docstrings)
        issues = await _analyse(code, lambda src: analysis.detect_issues(src, limits))
        return {"issues": issues}


def _issue_list(ctx: NodeContext, issues: list[Any]) -> list[dict[str, Any]]:
    for i, issue in enumerate(issues):
        if not isinstance(issue, dict) or not isinstance(issue.get("kind"), str):
            got = ctx.redact(str(issue), 80)  # masked before the cut
            raise NodeError(f"issues[{i}] is not an issue object with a 'kind' (got "
                            f"{got!r}); wire the output of code.detect_issues "
                            "here", retryable=False)
    return issues


class SuggestImprovements(Node):
    type = "code.suggest_improvements"
    remote_capable = True  # pure: may run on a Dask worker
    title = "Suggest improvements"
    category = "Code"
    icon = "suggest"
    description = "Turns each issue from Detect issues into a concrete suggestion for a fix."
    inputs = (Port("issues", "array", description="The output of code.detect_issues"),)
    outputs = (Port("suggestions", "array",
                    description="[{kind, function, line, suggestion}], one per issue, "
                                "in the same order"),)

    async def run(self, ctx: NodeContext, issues: list[Any]) -> dict[str, Any]:
        return {"suggestions": [
            {"kind": i["kind"], "function": i.get("function"), "line": i.get("line"),
             "suggestion": analysis.suggest(i)}
            for i in _issue_list(ctx, issues)]}


class QualityScore(Node):
    type = "code.quality_score"
    remote_capable = True  # pure: may run on a Dask worker
    title = "Quality score"
    category = "Code"
    icon = "score"
    description = ("Scores code from 0 (worst) to 10 (best) from its issues and complexity; "
                   "a file without issues and with modest complexity scores 10.")
    inputs = (Port("complexity", "object", description="The output of code.complexity"),
              Port("issues", "array", description="The output of code.detect_issues"))
    outputs = (Port("score", "number", description="0 (worst) to 10 (best), 2 decimals"),)

    async def run(self, ctx: NodeContext, complexity: dict[str, Any],
                  issues: list[Any]) -> dict[str, Any]:
        average, maximum = _complexity_figures(complexity)
        kinds = [i["kind"] for i in _issue_list(ctx, issues)]
        return {"score": analysis.quality_score(average, maximum, kinds)}


def _complexity_figures(complexity: dict[str, Any]) -> tuple[float, float]:
    """(average, max) from code.complexity's output; derived from `functions` when
    the summary figures are missing."""
    def number(value: Any, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise NodeError(f"complexity.{what} must be a number of at least 0, not "
                            f"{value!r}; wire the output of code.complexity here",
                            retryable=False)
        return float(value)

    per_function = complexity.get("functions", {})
    if not isinstance(per_function, dict):
        raise NodeError("complexity.functions must be an object {name: complexity}; wire the "
                        "output of code.complexity here", retryable=False)
    values = [number(v, f"functions[{k!r}]") for k, v in per_function.items()]
    average = (number(complexity["average"], "average") if "average" in complexity
               else sum(values) / len(values) if values else 0.0)
    maximum = (number(complexity["max"], "max") if "max" in complexity
               else max(values, default=0.0))
    return average, maximum
