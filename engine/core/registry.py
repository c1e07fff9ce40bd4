"""The node type registry and plugin discovery.

Built-in nodes arrive the same way a third party's do: through the entry-point
group `flowui.nodes` (each entry point names an iterable of Node classes, or a
function returning one) and through plugin folders (every `*.py` file and
package in `FLOWUI_PLUGINS` and `<data dir>/plugins`; each Node subclass with a
`type` defined in it is registered). A plugin that fails to import is reported
in `load_errors` and the others still load; two types with one id are an error.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.core.sdk import Node
from engine.errors import DuplicateNodeTypeError, RegistryError
from engine.support.paths import plugin_dirs

ENTRY_POINT_GROUP = "flowui.nodes"


class Registry:
    def __init__(self, node_types: Iterable[type[Node]] = (), *, origin: str = "code") -> None:
        self._types: dict[str, type[Node]] = {}
        self._origins: dict[str, str] = {}
        self._legacy: dict[str, str] = {}
        self.load_errors: list[str] = []
        for cls in node_types:
            self.register(cls, origin=origin)

    def register(self, cls: type[Node], *, origin: str = "code") -> None:
        if not (inspect.isclass(cls) and issubclass(cls, Node) and "type" in cls.__dict__):
            raise RegistryError(f"{cls!r} from {origin} is not a Node subclass with a 'type'")
        for type_id in (cls.type, *cls.legacy_types):
            owner = self._types.get(type_id) or self._types.get(self._legacy.get(type_id, ""))
            if owner is not None and owner is not cls:
                first = self._origins.get(owner.type, "?")
                raise DuplicateNodeTypeError(type_id, f"{_name(owner)} ({first})",
                                             f"{_name(cls)} ({origin})")
        if cls.type in self._types:
            return  # the same class twice (e.g. imported by two plugins): harmless
        self._types[cls.type] = cls
        self._origins[cls.type] = origin
        for legacy in cls.legacy_types:
            self._legacy[legacy] = cls.type

    def get(self, type_id: str) -> type[Node] | None:
        """The node class for an id (legacy ids included), or None."""
        cls = self._types.get(type_id)
        if cls is None and type_id in self._legacy:
            cls = self._types[self._legacy[type_id]]
        return cls

    def origin(self, type_id: str) -> str:
        return self._origins.get(type_id, "")

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, str) and self.get(type_id) is not None

    def __iter__(self) -> Iterator[type[Node]]:
        return iter(sorted(self._types.values(), key=lambda c: (c.category, c.type)))

    def __len__(self) -> int:
        return len(self._types)

    def type_ids(self) -> list[str]:
        return sorted(self._types)

    # --- discovery --------------------------------------------------------------------

    @classmethod
    def discover(cls, *, plugins: bool = True,
                 extra_dirs: Iterable[str | Path] = ()) -> Registry:
        """The registry of everything installed: entry points, then plugin folders."""
        reg = cls()
        reg.load_entry_points()
        if plugins:
            for d in (*map(Path, extra_dirs), *plugin_dirs()):
                reg.load_plugin_dir(d)
        return reg

    def load_entry_points(self) -> None:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            where = f"entry point {ep.name!r} ({ep.value})"
            try:
                obj = ep.load()
                classes = obj() if callable(obj) and not inspect.isclass(obj) else obj
                found = list(classes)
            except Exception as e:  # a broken plugin must not take the others down
                self.load_errors.append(f"{where}: {_short_error(e)}")
                continue
            for c in found:
                self.register(c, origin=where)

    def load_plugin_dir(self, folder: Path) -> None:
        if not folder.is_dir():
            return
        for path in sorted(folder.iterdir()):
            if path.name.startswith((".", "_")):
                continue
            if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").is_file()):
                self.load_plugin_file(path)

    def load_plugin_file(self, path: Path) -> None:
        where = f"plugin {path}"
        try:
            module = _import_path(path)
        except Exception as e:
            self.load_errors.append(f"{where}: {_short_error(e)}")
            return
        for value in vars(module).values():
            if (inspect.isclass(value) and issubclass(value, Node) and "type" in value.__dict__
                    and value.__module__ == module.__name__):
                self.register(value, origin=where)


def _import_path(path: Path) -> ModuleType:
    stem = path.stem if path.suffix == ".py" else path.name
    name = f"flowui_plugins.{stem}"
    location = path if path.suffix == ".py" else path / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, location, submodule_search_locations=[str(path)] if path.is_dir() else None)
    if spec is None or spec.loader is None:
        raise RegistryError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _name(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _short_error(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    place = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(e).__name__}: {e}{place}"
