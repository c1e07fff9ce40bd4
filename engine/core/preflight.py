"""Everything checked before a node runs, in one place for every way a run starts
(`flowcli run`, serve mode, the editor, the API): the workflow compiled into a plan,
the run's inputs, the secrets its templates name.

`prepare` does the part that depends on the workflow only, once for any number of
runs; `preflight` adds one run's inputs and secrets. Both report every problem at
once (WorkflowInvalidError), never just the first.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.plan import Plan, compile_steps, compile_workflow
from engine.core.registry import Registry
from engine.core.validation import check_inputs, resolve_inputs, secret_names, type_info
from engine.errors import Problem, WorkflowInvalidError
from engine.secrets.redactor import Redactor
from engine.secrets.store import ENV_PREFIX, SecretStore
from engine.workflow.model import Workflow

if TYPE_CHECKING:
    from engine.templates.engine import TemplateEngine


@dataclass(frozen=True, slots=True)
class PreparedWorkflow:
    """A workflow validated and compiled once, ready for any number of runs."""

    workflow: Workflow
    plan: Plan
    base_dir: Path
    secret_names: frozenset[str]  # what its templates (and type defaults) refer to


@dataclass(frozen=True, slots=True)
class Checked:
    """One run's preflight passed: what it runs, its inputs (defaults filled in) and the
    values of the secrets it uses."""

    prepared: PreparedWorkflow
    inputs: Mapping[str, Any]
    secrets: Mapping[str, str]


def prepare(workflow: Workflow, registry: Registry, *, base_dir: Path,
            templates: TemplateEngine | None = None) -> PreparedWorkflow:
    """Compile `workflow` and its subgraphs. Raises WorkflowInvalidError."""
    plan = compile_workflow(workflow, registry, base_dir=base_dir, templates=templates)
    return PreparedWorkflow(workflow, plan, base_dir, plan_secrets(plan))


def prepare_steps(workflow: Workflow, registry: Registry, *, base_dir: Path,
                  templates: TemplateEngine | None = None, slice_s: float | None = None,
                  ) -> Generator[None, None, PreparedWorkflow]:
    """`prepare` in steps of about `slice_s` seconds (engine.core.plan.compile_steps)."""
    plan = yield from compile_steps(workflow, registry, base_dir=base_dir,
                                    templates=templates, slice_s=slice_s)
    return PreparedWorkflow(workflow, plan, base_dir, plan_secrets(plan))


def preflight(source: Workflow | PreparedWorkflow, inputs: Mapping[str, Any], *,
              registry: Registry, secrets: SecretStore, base_dir: Path,
              templates: TemplateEngine | None = None) -> Checked:
    """Everything a run needs checked, with every problem at once: the plan (unless
    `source` is already prepared), the inputs, the secrets. Raises WorkflowInvalidError."""
    problems: list[Problem] = []
    prepared = source if isinstance(source, PreparedWorkflow) else None
    workflow = source.workflow if isinstance(source, PreparedWorkflow) else source
    if prepared is None:
        try:
            prepared = prepare(workflow, registry, base_dir=base_dir, templates=templates)
        except WorkflowInvalidError as e:
            problems += e.problems
    problems += check_inputs(workflow, inputs)
    wanted = prepared.secret_names if prepared is not None else \
        workflow_secrets(workflow, registry)
    values, missing = secrets.resolve(wanted)
    problems += [missing_secret_problem(name) for name in missing]
    problems += pinned_secret_problems(workflow, values)
    if problems:
        raise WorkflowInvalidError(problems)
    assert prepared is not None
    return Checked(prepared, resolve_inputs(workflow, inputs), values)


def missing_secret_problem(name: str) -> Problem:
    return Problem("missing_secret", f"secret {name!r} is not set: run `flowcli secrets set "
                   f"{name}` or set the environment variable {ENV_PREFIX}{name}",
                   field=f"secrets.{name}")


def pinned_secret_problems(workflow: Workflow, secrets: Mapping[str, str]) -> list[Problem]:
    """Pinned outputs holding a secret's value (in any spelling the redactor knows): a pin
    is saved in the workflow file, and a secret never is."""
    if not secrets:
        return []
    problems = []
    for graph in (workflow, *workflow.subgraphs.values()):
        for spec in graph.nodes:
            if spec.pinned is None:
                continue
            for name, value in secrets.items():
                if Redactor([value]).scrub(spec.pinned) != spec.pinned:
                    where = spec.id if graph is workflow else f"{graph.name}/{spec.id}"
                    problems.append(Problem(
                        "pinned_secret", f"its pinned output holds the value of secret "
                        f"{name!r}, and pins are saved in the workflow file: unpin it, or "
                        "pin a value without the secret", where, "pinned"))
                    break
    return problems


def workflow_secrets(workflow: Workflow, registry: Registry) -> set[str]:
    """Names of the secrets a workflow (subgraphs included) uses, found without
    compiling it (for a workflow with problems; a plan knows its nodes' already)."""
    names: set[str] = set()
    for graph in (workflow, *workflow.subgraphs.values()):
        for spec in graph.nodes:
            cls = registry.get(spec.type)
            if cls is not None:
                names |= secret_names(spec.config, type_info(cls))
    return names


def plan_secrets(plan: Plan) -> frozenset[str]:
    """Names of the secrets the nodes of a plan and its bodies use."""
    return frozenset(name for p in (plan, *plan.bodies.values()) for node in p.nodes
                     for name in node.secrets)
