"""What a run is given on the command line: `--input NAME=VALUE`, `--inputs-file`,
`--trigger-payload`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import InputsError
from engine.workflow.model import Graph


def parse_inputs(graph: Graph, pairs: Iterable[str], inputs_file: str | None) -> dict[str, Any]:
    """FORMAT.md section 4: the file's values are taken as they are; `--input` splits at
    the first '=', keeps text for string inputs and parses JSON for any other declared
    type (checked later, never converted); undeclared names get JSON when it parses,
    else the text. `--input` wins over the file."""
    values: dict[str, Any] = {}
    if inputs_file:
        path = Path(inputs_file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise InputsError(f"--inputs-file {path}: cannot read it: {e.strerror or e}") from e
        except json.JSONDecodeError as e:
            raise InputsError(f"--inputs-file {path}: line {e.lineno}, column {e.colno}: "
                              f"invalid JSON: {e.msg}") from e
        if not isinstance(data, dict):
            raise InputsError(f"--inputs-file {path}: must hold a JSON object "
                              '{"name": value, ...}')
        values.update(data)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InputsError(f"--input {pair!r}: write it as NAME=VALUE")
        spec = graph.inputs.get(name)
        if spec is not None and spec.type == "string":
            values[name] = text
        elif spec is not None and spec.type != "any":
            try:
                values[name] = json.loads(text)
            except json.JSONDecodeError:
                hint = (' (for text, declare the input as "string" or quote it: '
                        f'{name}=\'"{text}"\')')
                raise InputsError(f"--input {name}: {text!r} is not a JSON {spec.type}"
                                  + (hint if spec.type in ("object", "array") else "")) from None
        else:
            try:
                values[name] = json.loads(text)
            except json.JSONDecodeError:
                values[name] = text
    return values


def parse_trigger_payload(text: str) -> dict[str, Any]:
    """`--trigger-payload`: a JSON object, or `@path` of a file holding one."""
    where = "--trigger-payload"
    if text.startswith("@"):
        path = Path(text[1:])
        where = f"--trigger-payload {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise InputsError(f"{where}: cannot read it: {e.strerror or e}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputsError(f"{where}: line {e.lineno}, column {e.colno}: invalid JSON: "
                          f"{e.msg}") from None
    if not isinstance(value, dict):
        raise InputsError(f'{where}: must be a JSON object, e.g. {{"body": {{"name": "Ada"}}}}')
    return value
