"""What one call of a node's `run` is made of, and what it may give back: its inputs
gathered from the slots its wires filled, the values typed into its unwired input
ports, its config with templates rendered and wired fields applied, and the check of
the outputs it returned. The executor (engine.core.executor) calls these on its hot
path; they keep no state of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from engine.core.node_results import Skip
from engine.errors import ConfigError, InputTypeError, NodeError
from engine.templates.detect import contains_template
from engine.workflow.porttypes import matches, type_name

if TYPE_CHECKING:
    from engine.core.plan import PlannedNode
    from engine.templates.engine import TemplateEngine

# The names a node's templates see, given its inputs by port (the execution's)
Names = Callable[[dict[str, Any]], dict[str, Any]]


def gather_inputs(node: PlannedNode, slots: list[Any], skipped: int) -> dict[str, Any]:
    """Input values by port: one value, or for a `multiple` port the list of the values
    that were not skipped, in connection order. `skipped`: how many slots hold a skip."""
    kwargs: dict[str, Any] = {}
    for port, multiple, slot_ids, check in node.in_groups:
        if multiple:
            values = [slots[k] for k in slot_ids]
            if skipped:
                values = [v for v in values if v.__class__ is not Skip]
                if not values:
                    continue
            if check is not None:
                for k in slot_ids:
                    check_input(node, k, slots[k])
            kwargs[port] = values
        else:
            value = slots[slot_ids[0]]
            if value.__class__ is Skip:
                continue
            if check is not None:
                check_input(node, slot_ids[0], value)
            kwargs[port] = value
    return kwargs


def check_input(node: PlannedNode, slot: int, value: Any) -> None:
    edge = node.in_edges[slot]
    if edge.check is not None and value.__class__ is not Skip \
            and not matches(edge.check, value):
        raise InputTypeError(f"input {edge.port!r} takes {edge.check}, but {edge.source} "
                             f"sent {type_name(value)}")


def apply_port_values(node: PlannedNode, kwargs: dict[str, Any], templates: TemplateEngine,
                      names: Names) -> None:
    """Inputs typed into the config, for the ports nothing was wired to."""
    for name, value in node.port_values.items():
        if name in kwargs:
            continue
        if contains_template(value):
            value = templates.render_value(value, names(kwargs), where=f"config.{name}")
            port_type = node.in_ports[name].type
            if not matches(port_type, value):
                raise InputTypeError(f"input {name!r} takes {port_type}, but its config "
                                     f"template gave {type_name(value)}")
        kwargs[name] = [value] if node.in_ports[name].multiple else value


def config_for(node: PlannedNode, kwargs: dict[str, Any], templates: TemplateEngine,
               names: Names) -> Any:
    """The node's config for this call: templates rendered, wired fields applied."""
    raw = node.raw
    if node.template_fields:
        seen = names(kwargs)
        raw = dict(raw)
        for key in node.template_fields:
            raw[key] = templates.render_value(raw[key], seen, where=f"config.{key}")
    if node.wired_config_fields:
        raw = dict(raw)
        for key in node.wired_config_fields:
            if key in kwargs:
                raw[key] = kwargs[key]
    try:
        return node.cls.Config.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(
            ".".join(str(x) for x in err["loc"]) + ": " + err["msg"] for err in e.errors())
        raise ConfigError(f"config is invalid after templates and wires were applied: "
                          f"{problems}") from None


def checked_outputs(node: PlannedNode, outputs: Any) -> dict[str, Any]:
    """What `run` returned, when it is a dict of the node's outputs (None: none)."""
    if outputs is None:
        return {}
    if outputs.__class__ is not dict or not outputs.keys() <= node.out_names:
        raise _bad_outputs(node, outputs)
    return outputs  # type: ignore[no-any-return]


def _bad_outputs(node: PlannedNode, outputs: Any) -> NodeError:
    if not isinstance(outputs, dict):
        return NodeError(f"{node.cls.type}.run returned {type(outputs).__name__}, "
                         "expected a dict of output values", retryable=False)
    extra = sorted(set(outputs) - set(node.out_ports))
    return NodeError(f"{node.cls.type}.run returned unknown output(s) {extra}; its "
                     f"outputs are {sorted(node.out_ports)}", retryable=False)
