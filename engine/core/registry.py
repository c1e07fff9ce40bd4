"""The node type registry and plugin discovery.

Built-in nodes arrive the same way a third party's do: through the entry-point
group `flowui.nodes` (each entry point names a `NodePack`, an iterable of Node
classes, or a function returning one) and through plugin folders (every `*.py` file
and package in `FLOWUI_PLUGINS` and `<data dir>/plugins`; each Node subclass with a
`type` defined in it is registered). A plugin that fails to import is reported in
`load_errors` and the others still load; two types with one id are an error.

A `NodePack` lists its types by id, so the registry knows every id at once but
imports a type's module (and the libraries it needs: httpx, radon...) only when a
workflow uses the type: `flowcli run` of a small workflow loads two modules, not
twelve. Listing the types (`flowcli nodes`, the palette) imports them all.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.core.sdk import Node
from engine.errors import DuplicateNodeTypeError, RegistryError
from engine.support.paths import plugin_dirs

ENTRY_POINT_GROUP = "flowui.nodes"


class NodePack:
    """Node types of one package, listed by id: `{"acme.fetch": "fetch:Fetch"}` names
    class `Fetch` in module `<package>.fetch`. Old ids still loading as a type go in
    `legacy` (old id -> current id). Calling the pack imports and returns every type."""

    def __init__(self, package: str, types: Mapping[str, str],
                 legacy: Mapping[str, str] | None = None) -> None:
        self.package = package
        self.types = dict(types)
        self.legacy = dict(legacy or {})
        unknown = sorted(set(self.legacy.values()) - set(self.types))
        if unknown:
            raise RegistryError(f"node pack {package}: legacy ids lead to unlisted types "
                                f"{unknown}")

    def load(self, type_id: str) -> type[Node]:
        """Import the class listed for `type_id` (a current id)."""
        module_name, _, attr = self.types[type_id].partition(":")
        module = importlib.import_module(f"{self.package}.{module_name}")
        cls = getattr(module, attr, None)
        if not (inspect.isclass(cls) and issubclass(cls, Node)) or cls.type != type_id:
            raise RegistryError(f"node pack {self.package} lists {type_id!r} as "
                                f"{self.types[type_id]}, which is not a Node with that type")
        missing = sorted(old for old, new in self.legacy.items()
                         if new == type_id and old not in cls.legacy_types)
        if missing:
            raise RegistryError(f"node pack {self.package} lists legacy ids {missing} for "
                                f"{type_id!r}, which its class does not declare")
        return cls

    def __call__(self) -> list[type[Node]]:
        return [self.load(type_id) for type_id in self.types]


class Registry:
    def __init__(self, node_types: Iterable[type[Node]] = (), *, origin: str = "code") -> None:
        self._types: dict[str, type[Node]] = {}
        self._origins: dict[str, str] = {}
        self._legacy: dict[str, str] = {}
        # listed by a NodePack, not imported yet: id -> (pack, where it came from)
        self._pending: dict[str, tuple[NodePack, str]] = {}
        self.load_errors: list[str] = []
        for cls in node_types:
            self.register(cls, origin=origin)

    def register_pack(self, pack: NodePack, *, origin: str = "code") -> None:
        """Know a pack's types by id now; import each when it is first asked for."""
        for type_id in (*pack.types, *pack.legacy):
            owner = self._owner(type_id)
            if owner is not None:
                raise DuplicateNodeTypeError(type_id, owner, f"{pack.package} ({origin})")
        for type_id in pack.types:
            self._pending[type_id] = (pack, origin)
            self._origins[type_id] = origin
        for old, new in pack.legacy.items():
            self._legacy[old] = new

    def _owner(self, type_id: str) -> str | None:
        """Who already defines `type_id` (as an id or a legacy id), for the duplicate error."""
        cls = self._types.get(type_id) or self._types.get(self._legacy.get(type_id, ""))
        if cls is not None:
            return f"{_name(cls)} ({self._origins.get(cls.type, '?')})"
        current = type_id if type_id in self._pending else self._legacy.get(type_id, "")
        pending = self._pending.get(current)
        if pending is not None:
            return f"{pending[0].package} ({pending[1]})"
        return None

    def _load_pending(self, type_id: str) -> type[Node] | None:
        pack, _ = self._pending.pop(type_id)
        try:
            cls = pack.load(type_id)
        except Exception as e:  # a broken module must not take the other types down
            self.load_errors.append(f"{pack.package}: type {type_id!r}: {_short_error(e)}")
            return None
        self._types[type_id] = cls
        return cls

    def load_all(self) -> None:
        """Import every type a pack listed (to list them all)."""
        for type_id in list(self._pending):
            self._load_pending(type_id)

    def register(self, cls: type[Node], *, origin: str = "code") -> None:
        if not (inspect.isclass(cls) and issubclass(cls, Node) and "type" in cls.__dict__):
            raise RegistryError(f"{cls!r} from {origin} is not a Node subclass with a 'type'")
        if cls.type in self._pending:
            self._load_pending(cls.type)  # a plugin importing a listed type: the same class?
        for type_id in (cls.type, *cls.legacy_types):
            owner = self._types.get(type_id) or self._types.get(self._legacy.get(type_id, ""))
            if owner is not None and owner is not cls:
                first = self._origins.get(owner.type, "?")
                raise DuplicateNodeTypeError(type_id, f"{_name(owner)} ({first})",
                                             f"{_name(cls)} ({origin})")
            pending = self._pending.get(type_id) or self._pending.get(
                self._legacy.get(type_id, ""))
            if pending is not None:
                raise DuplicateNodeTypeError(type_id, f"{pending[0].package} ({pending[1]})",
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
        if cls is None:
            current = self._legacy.get(type_id, type_id)
            cls = self._types.get(current)
            if cls is None and current in self._pending:
                cls = self._load_pending(current)
        return cls

    def origin(self, type_id: str) -> str:
        return self._origins.get(type_id, "")

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, str) and self.get(type_id) is not None

    def __iter__(self) -> Iterator[type[Node]]:
        self.load_all()
        return iter(sorted(self._types.values(), key=lambda c: (c.category, c.type)))

    def __len__(self) -> int:
        self.load_all()
        return len(self._types)

    def type_ids(self) -> list[str]:
        """Every current id, listed types not yet imported included."""
        return sorted({*self._types, *self._pending})

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
        from importlib.metadata import entry_points  # here: only discovery needs it

        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            where = f"entry point {ep.name!r} ({ep.value})"
            try:
                obj = ep.load()
                if isinstance(obj, NodePack):
                    self.register_pack(obj, origin=where)
                    continue
                classes = obj() if callable(obj) and not inspect.isclass(obj) else obj
                found = list(classes)
            except DuplicateNodeTypeError:
                raise
            except Exception as e:  # a broken plugin must not take the others down
                self.load_errors.append(f"{where}: {_short_error(e)}")
                continue
            for c in found:
                self.register(c, origin=where)

    def load_plugin_dir(self, folder: Path) -> None:
        """Each `*.py` file and package in `folder`; their own pure-Python dependencies
        may sit in `folder/_lib` (`pip install --target <folder>/_lib PACKAGE`), searched
        after what FlowUI itself ships, so a plugin cannot replace one of its libraries."""
        if not folder.is_dir():
            return
        lib = folder / PLUGIN_LIB
        if lib.is_dir() and str(lib) not in sys.path:
            sys.path.append(str(lib))
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


PLUGIN_LIB = "_lib"  # a plugin folder's own dependencies (docs/writing-nodes.md)


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
