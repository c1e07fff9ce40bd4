"""Everything checked before a node runs, in one place for every way a run starts
(`flowcli run`, serve mode, the editor, the API): the workflow compiled into a plan,
the run's inputs, the secrets its templates name.

`prepare` does the part that depends on the workflow only, once for any number of
runs; `preflight` adds one run's inputs and secrets. Both report every problem at
once (WorkflowInvalidError), never just the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.plan import Plan, compile_workflow
from engine.core.registry import Registry
from engine.core.validation import check_inputs, resolve_inputs
from engine.errors import Problem, WorkflowInvalidError
from engine.secrets.store import ENV_PREFIX, SecretStore, references
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
    return PreparedWorkflow(workflow, plan, base_dir,
                            frozenset(workflow_secrets(workflow, registry)))


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
    if problems:
        raise WorkflowInvalidError(problems)
    assert prepared is not None
    return Checked(prepared, resolve_inputs(workflow, inputs), values)


def missing_secret_problem(name: str) -> Problem:
    return Problem("missing_secret", f"secret {name!r} is not set: run `flowcli secrets set "
                   f"{name}` or set the environment variable {ENV_PREFIX}{name}",
                   field=f"secrets.{name}")


def workflow_secrets(workflow: Workflow, registry: Registry | None = None) -> set[str]:
    """Names of the secrets the workflow's templates (subgraphs included) refer to; with
    `registry`, also those a node type's config default refers to where the file leaves
    the field out (llm.chat's api_key defaults to `{{ secrets.OPENAI_API_KEY }}`)."""
    graphs = [workflow, *workflow.subgraphs.values()]
    names = {name for g in graphs for n in g.nodes for name in references(n.config)}
    if registry is not None:
        for g in graphs:
            for n in g.nodes:
                cls = registry.get(n.type)
                if cls is not None:
                    names.update(k for field, k in _default_secrets(cls) if field not in n.config)
    return names


_DEFAULT_SECRETS: dict[type, list[tuple[str, str]]] = {}


def _default_secrets(cls: type) -> list[tuple[str, str]]:
    """(config field, secret name) for each secret a type's config defaults refer to."""
    found = _DEFAULT_SECRETS.get(cls)
    if found is None:
        fields = getattr(getattr(cls, "Config", None), "model_fields", {})
        found = _DEFAULT_SECRETS[cls] = [
            (field, name) for field, info in fields.items() if isinstance(info.default, str)
            for name in sorted(references(info.default))]
    return found
