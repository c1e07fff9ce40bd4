"""What a run is given on the command line: `--input NAME=VALUE`, `--inputs-file`,
`--trigger-payload`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import InputsError
from engine.support import bounded_json
from engine.support.bounded_read import read_regular
from engine.workflow.model import Graph


def parse_inputs(graph: Graph, pairs: Iterable[str], inputs_file: str | None) -> dict[str, Any]:
    """FORMAT.md section 4: the file's values are taken as they are; `--input` splits at
    the first '=', keeps text for string inputs and parses JSON for any other declared
    type (checked later, never converted); undeclared names get JSON when it parses,
    else the text. `--input` wins over the file."""
    values: dict[str, Any] = {}
    if inputs_file:
        path = Path(inputs_file)
        data = _load_json(_read(path, f"--inputs-file {path}"), f"--inputs-file {path}")
        if not isinstance(data, dict):
            raise InputsError(f"--inputs-file {path}: must hold a JSON object "
                              '{"name": value, ...}')
        values.update(data)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InputsError(f"--input {pair!r}: write it as NAME=VALUE")
        try:  # bytes that are not UTF-8 reach Python as lone surrogates
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InputsError(f"--input {name}: character {e.start} is not UTF-8 text; "
                              "pass the value in UTF-8") from None
        spec = graph.inputs.get(name)
        if spec is not None and spec.type == "string":
            values[name] = text
        elif spec is not None and spec.type != "any":
            try:
                values[name] = bounded_json.loads(text)
            except bounded_json.JsonLimitError as e:
                if not e.syntax:
                    raise InputsError(f"--input {name}: {e}") from None
                hint = (' (for text, declare the input as "string" or quote it: '
                        f'{name}=\'"{text}"\')')
                raise InputsError(f"--input {name}: {text!r} is not a JSON {spec.type}"
                                  + (hint if spec.type in ("object", "array") else "")) from None
        else:
            try:
                values[name] = bounded_json.loads(text)
            except bounded_json.JsonLimitError as e:
                if not e.syntax:  # JSON past a limit is refused, not taken as text
                    raise InputsError(f"--input {name}: {e}") from None
                values[name] = text
    try:  # text that was not UTF-8 on the command line arrives as lone surrogates
        bounded_json.check(values, where="inputs")
    except bounded_json.JsonLimitError as e:
        raise InputsError(f"--input: {e}") from None
    return values


def _read(path: Path, where: str) -> str:
    try:
        return read_regular(path).decode("utf-8-sig")
    except OSError as e:
        raise InputsError(f"{where}: cannot read it: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise InputsError(f"{where}: byte {e.start}: not UTF-8 text") from None


def _load_json(text: str, where: str) -> Any:
    try:
        return bounded_json.loads(text)
    except bounded_json.JsonLimitError as e:
        raise InputsError(f"{where}: {e}") from None


def parse_trigger_payload(text: str) -> dict[str, Any]:
    """`--trigger-payload`: a JSON object, or `@path` of a file holding one."""
    where = "--trigger-payload"
    if text.startswith("@"):
        path = Path(text[1:])
        where = f"--trigger-payload {path}"
        text = _read(path, where)
    value = _load_json(text, where)
    if not isinstance(value, dict):
        raise InputsError(f'{where}: must be a JSON object, e.g. {{"body": {{"name": "Ada"}}}}')
    for key, kind, example in _PAYLOAD_FIELDS:  # what trigger nodes read, in its shape
        if key in value and not isinstance(value[key], kind):
            raise InputsError(f"{where}: {key!r} must be {example}, not "
                              f"{type(value[key]).__name__}")
    for key in ("headers", "query"):
        for name, item in (value.get(key) or {}).items():
            if not isinstance(item, str | list):
                raise InputsError(f"{where}: {key}.{name} must be text (or, in query, a list "
                                  f"of texts), not {type(item).__name__}")
    return value


# The trigger payload's fields as serve mode makes them (FORMAT.md "Serve mode").
_PAYLOAD_FIELDS = (("node", str, "a node id"), ("method", str, 'a method such as "POST"'),
                   ("path", str, 'a path such as "/hook"'),
                   ("headers", dict, 'an object of header texts, e.g. {"x-token": "abc"}'),
                   ("query", dict, 'an object of query texts, e.g. {"page": "2"}'),
                   ("tick", int, "a whole number"), ("time", str, "an ISO time text"))
