"""Hooks in the Python code Jinja generates for a template: for-loop iterables that watch
the deadline, output buffers that count what they collect, and `~`, comparisons and
tuple literals routed through the environment's checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator

from engine.templates.measure import charge, tick

if TYPE_CHECKING:
    from engine.templates.sandbox import Sandbox

ITER_FILTER = "\ue000iter"  # not an identifier, so templates cannot name it


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


class Buffer(list[str]):
    """The list Jinja's generated code collects buffered output in (`{% set %}` and
    `{% filter %}` blocks, macro and `{% call %}` bodies, recursive loops) before joining
    it: counted as it grows, since only the top-level output stream is counted outside."""

    __slots__ = ("env", "size")

    def __init__(self, env: Sandbox) -> None:
        super().__init__()
        self.env, self.size = env, 0

    def _count(self, n: int) -> None:
        tick()
        self.size += n
        self.env.bound(self.size, "buffered template output ({n} characters)")
        charge(n, self.env.max_work)

    def append(self, item: str) -> None:
        self._count(len(item))
        super().append(item)

    def extend(self, items: Any) -> None:
        items = tuple(items)  # a handful of output chunks, already strings
        self._count(sum(len(i) for i in items))
        super().extend(items)


class BoundedCodeGenerator(CodeGenerator):
    """Routes every for-loop iterable and every `~` through the environment's checks."""

    def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
        for loop in list(node.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, ITER_FILTER, [], [], None, None,
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

    def visit_Compare(self, node: nodes.Compare, frame: Any) -> None:
        # `a == b`, `a in b`, ...: all operands evaluated, then compared by the environment
        self.write("environment.compare(")
        self.visit(node.expr, frame)
        for op in node.ops:
            self.write(f", {op.op!r}, ")
            self.visit(op.expr, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Any) -> None:
        if node.ctx != "load":  # a target: `{% for a, b in ... %}`
            super().visit_Tuple(node, frame)
            return
        self.write("environment.checked_tuple(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def buffer(self, frame: Any) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.new_buffer()")
