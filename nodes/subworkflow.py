"""Sub-workflows: flow.subworkflow runs a subgraph or another workflow file as one node,
plus what every body-running node shares (finding a body, refusing bodies that
contain themselves, bounding nesting at run time)."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from engine import (
    BODY_OUTPUT_TYPE,
    ERROR_PORT,
    IDENT_RE,
    BodySpec,
    Graph,
    Node,
    NodeConfig,
    NodeContext,
    NodeError,
    Port,
    PortContext,
    Workflow,
    WorkflowFileError,
    confine,
    load,
)

# Bodies inside bodies: far beyond any hand-made workflow, low enough to stop a body that
# somehow reaches itself (validation refuses those) long before memory runs out.
MAX_NESTING = 64

# (file, subgraph): file None is the workflow being validated, subgraph None its top level
GraphKey = tuple[Path | None, str | None]


def enter_body(ctx: NodeContext) -> None:
    """Refuse to nest one more body past MAX_NESTING (node paths grow one level per body)."""
    if ctx.node_id.count("/") >= MAX_NESTING:
        raise NodeError(f"bodies nest more than {MAX_NESTING} levels deep at {ctx.node_id}: "
                        "does a sub-workflow call itself?", retryable=False)


def body_problems(field: str, name: Any, graph: Graph, context: PortContext | None, *,
                  needs_output: str | None = None) -> list[tuple[str, str]]:
    """Problems with `name` as the subgraph a node runs: a template, an unknown name, a
    missing flow.output the node reads, or a body that leads back to itself."""
    if not isinstance(name, str):
        return []  # the config schema reports the type
    if "{{" in name:
        return [(field, "must name a subgraph directly, not through a template: what the "
                        "node runs has to be known before the run starts")]
    if context is None:
        return []
    subgraphs = context.workflow.subgraphs
    body = subgraphs.get(name)
    if body is None:
        hint = difflib.get_close_matches(name, list(subgraphs), n=1)
        return [(field, f"there is no subgraph {name!r} in this workflow"
                        + (f" (did you mean {hint[0]!r}?)" if hint else
                           f"; subgraphs: {', '.join(subgraphs) or 'none'}"))]
    if needs_output is not None and needs_output not in output_names(body):
        return [(field, f"subgraph {name!r} has no flow.output named {needs_output!r}; add "
                        f"one: its value is what this node reads from each run")]
    cycle = reference_cycle(context, graph, (None, name))
    return [(field, cycle)] if cycle else []


def output_names(graph: Graph) -> list[str]:
    """The names of a graph's flow.output nodes, in document order, without repeats."""
    names: list[str] = []
    for n in graph.nodes:
        name = n.config.get("name") if n.type == BODY_OUTPUT_TYPE else None
        if isinstance(name, str) and IDENT_RE.match(name) and name not in names:
            names.append(name)
    return names


# --- bodies that contain themselves ------------------------------------------------------


class _References:
    """The graphs reachable from one workflow through body, subgraph and path fields,
    files loaded once each (an unreadable file leads nowhere; its own node says why)."""

    def __init__(self, context: PortContext) -> None:
        self.context = context
        self.files: dict[Path, Workflow | None] = {}

    def graph(self, key: GraphKey) -> Graph | None:
        file, sub = key
        wf: Workflow | None = self.context.workflow
        if file is not None:
            if file not in self.files:
                try:
                    self.files[file] = load_file(file)
                except WorkflowFileError:
                    self.files[file] = None
            wf = self.files[file]
        if wf is None:
            return None
        return wf if sub is None else wf.subgraphs.get(sub)

    def targets(self, key: GraphKey) -> Iterator[GraphKey]:
        graph = self.graph(key)
        if graph is None:
            return
        file = key[0]
        base = file.parent if file is not None else self.context.base_dir
        registry = self.context.registry
        for n in graph.nodes:
            cls = registry.get(n.type) if registry is not None else None
            name = cls.body_name(n.config) if cls is not None else None
            if name is not None and "{{" not in name:
                yield file, name
            path = n.config.get("path") if cls is SubWorkflow else None
            if isinstance(path, str) and path and "{{" not in path:
                try:
                    yield _resolve(base, path), None
                except OSError:  # not allowed: its own node says so
                    continue

    def label(self, key: GraphKey) -> str:
        file, sub = key
        if file is None:
            return "this workflow" if sub is None else f"subgraph {sub!r}"
        shown = _shown(file, self.context.base_dir)
        return shown if sub is None else f"subgraph {sub!r} of {shown}"


def reference_cycle(context: PortContext, graph: Graph, target: GraphKey) -> str | None:
    """A message when running `target` from `graph` can lead back into a graph already
    running: to `graph` itself, or around a cycle of files (which nothing else reports;
    a cycle among this workflow's subgraphs is reported by the nodes on it)."""
    refs = _References(context)
    here = _key_of(context.workflow, graph)
    # Iterative depth-first search: the graphs a file cycle passes through are unbounded
    # in principle, and validation must never hit Python's recursion limit.
    path: list[GraphKey] = []
    on_path: set[GraphKey] = set()
    done: set[GraphKey] = set()
    stack: list[tuple[GraphKey, Iterator[GraphKey] | None]] = [(target, None)]
    while stack:
        key, it = stack.pop()
        if it is None:
            if key == here or key in on_path:
                start = path.index(key) if key in on_path else 0
                loop = [*path[start:], key]
                if key == here:
                    loop = [here, *loop]
                elif all(k[0] is None for k in loop):
                    continue  # among this workflow's subgraphs: their own nodes report it
                return ("runs a body that contains itself: "
                        + " -> ".join(refs.label(k) for k in loop)
                        + "; a body cannot call the graph it is part of")
            if key in done:
                continue
            path.append(key)
            on_path.add(key)
            it = refs.targets(key)
        nxt = next(it, None)
        if nxt is None:
            path.pop()
            on_path.discard(key)
            done.add(key)
            continue
        stack.append((key, it))
        stack.append((nxt, None))
    return None


def _key_of(workflow: Workflow, graph: Graph) -> GraphKey | None:
    if graph is workflow:
        return None, None
    for name, sg in workflow.subgraphs.items():
        if sg is graph:
            return None, name
    return None


def load_file(path: Path) -> Workflow:
    """The workflow in `path`, loaded once while the file stays the same: checking a
    workflow with many nodes naming one file (50 of a 50,000-node file took 42 s) reads
    and parses it once, not three times per node. Failures are kept too."""
    try:
        info = path.stat()
    except OSError:
        return load(path)  # says why
    found = _loaded(path, info.st_mtime_ns, info.st_size, info.st_ino)
    if isinstance(found, WorkflowFileError):
        raise WorkflowFileError(found.path, found.problems)  # a fresh one: no traceback pile
    return found


@functools.lru_cache(maxsize=128)
def _loaded(path: Path, mtime_ns: int, size: int, inode: int) -> Workflow | WorkflowFileError:
    try:
        return load(path)
    except WorkflowFileError as e:
        return e


def _resolve(base: Path, path: str) -> Path:
    """`path` resolved and confined (OutsideRootsError, an OSError, when not allowed).
    Remembered: validating 200 nodes that reach 41 files resolved 24,600 paths (3 s).
    Only validation uses this; a run confines every path again."""
    return confine(path, base, remembered=True)


def _shown(file: Path, base: Path) -> str:
    try:
        return str(file.relative_to(base.resolve()))
    except ValueError:
        return str(file)


# --- flow.subworkflow ----------------------------------------------------------------------


class SubWorkflow(Node):
    type = "flow.subworkflow"
    summary_fields = ("subgraph", "path")
    title = "Sub-workflow"
    category = "Flow"
    icon = "subworkflow"
    description = ("Runs a subgraph of this workflow, or another workflow file, as one node: "
                   "its declared inputs are this node's inputs, its flow.output names its "
                   "outputs.")
    body = BodySpec("subgraph")

    class Config(NodeConfig):
        path: str | None = Field(None, description="A workflow file, relative to this "
                                                   "workflow's folder")
        subgraph: str | None = Field(None, description="The name of a subgraph of this "
                                                       "workflow")

    @classmethod
    def runs_own_body(cls, config: Mapping[str, Any]) -> bool:
        return not config.get("path")  # a file's body is edited by opening that file

    @classmethod
    def body_name(cls, config: Mapping[str, Any]) -> str | None:
        return super().body_name(config) if cls.runs_own_body(config) else None

    @classmethod
    def ports(cls, config: Mapping[str, Any], context: PortContext | None = None,
              ) -> tuple[tuple[Port, ...], tuple[Port, ...]]:
        body = _body(config, context)
        if body is None:
            return (), ()
        inputs = tuple(Port(name, spec.type, required=spec.is_required,
                            description=spec.description)
                       for name, spec in body.inputs.items() if name not in cls.Config.model_fields)
        outputs = tuple(Port(name, "any") for name in output_names(body) if name != ERROR_PORT)
        return inputs, outputs

    @classmethod
    def check(cls, config: Mapping[str, Any], graph: Graph, *, top_level: bool,
              context: PortContext | None = None) -> list[tuple[str, str]]:
        path, subgraph = config.get("path"), config.get("subgraph")
        if path is not None and subgraph is not None:
            return [("", "give either path (a workflow file) or subgraph (a subgraph name), "
                         "not both")]
        if subgraph is not None:
            problems = body_problems("subgraph", subgraph, graph, context)
        elif isinstance(path, str):
            problems = _file_problems(path, graph, context)
        elif path is None:
            return [("", "say what to run: path (a workflow file) or subgraph (a subgraph "
                         "name)")]
        else:
            return []  # the config schema reports the type
        if problems:
            return problems
        body = _body(config, context)
        if body is not None:
            field = "subgraph" if subgraph is not None else "path"
            for name in body.inputs:
                if name in cls.Config.model_fields:
                    problems.append((field, f"the sub-workflow's input {name!r} has the name "
                                            "of this node's config field; rename the input"))
            if ERROR_PORT in output_names(body):
                problems.append((field, "the sub-workflow has a flow.output named 'error', "
                                        "the name of every node's error port; rename it"))
        return problems

    async def run(self, ctx: NodeContext, **inputs: Any) -> dict[str, Any]:
        enter_body(ctx)
        if self.config.subgraph is not None:
            plan = ctx.body_plan(self.config.subgraph)
        else:
            plan = ctx.workflow_plan(self.config.path)
        values = dict(inputs)
        for name, spec in plan.inputs.items():  # an input not given takes its default
            values.setdefault(name, spec.default)
        results = await ctx.run_body(plan, values)
        results.pop(ERROR_PORT, None)  # not an output port (check says so)
        return results


def _body(config: Mapping[str, Any], context: PortContext | None) -> Graph | None:
    """The graph a sub-workflow node names, or None when it cannot be found (check says
    why)."""
    if context is None:
        return None
    path, subgraph = config.get("path"), config.get("subgraph")
    if isinstance(subgraph, str) and path is None:
        sub: Graph | None = context.workflow.subgraphs.get(subgraph)
        return sub
    if isinstance(path, str) and subgraph is None and path and "{{" not in path:
        try:
            return load_file(_resolve(context.base_dir, path))
        except (WorkflowFileError, OSError):
            return None
    return None


def _file_problems(path: str, graph: Graph, context: PortContext | None,
                   ) -> list[tuple[str, str]]:
    if not path:
        return [("path", "name a workflow file, relative to this workflow's folder")]
    if "{{" in path:
        return [("path", "must name the file directly, not through a template: the node's "
                         "ports come from the file")]
    if context is None:
        return []
    try:
        target = _resolve(context.base_dir, path)
    except OSError as e:
        return [("path", f"cannot load sub-workflow {path}: {e.strerror}")]
    try:
        load_file(target)
    except WorkflowFileError as e:
        return [("path", f"cannot load sub-workflow {path}: " + "; ".join(e.problems))]
    cycle = reference_cycle(context, graph, (target, None))
    return [("path", cycle)] if cycle else []
