"""Secrets: where their values come from, and keeping them out of everything a run emits.

A secret `NAME` is read from the environment variable `FLOWUI_SECRET_<NAME>` first,
then from the OS keychain through `keyring`. Headless Linux and CI usually have no
keychain; there the environment is the only source, and `flowcli secrets` says so.
The names of stored secrets (never their values) are kept in `<data dir>/secrets.json`
because keychains cannot list entries. Workflows refer to secrets in templates as
`{{ secrets.NAME }}`; a run resolves the ones it refers to before any node runs,
and `engine.secrets.redactor.Redactor` replaces their values in every event, log line and result.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import SecretsError
from engine.support.atomic import write_text_atomic
from engine.support.paths import data_dir

ENV_PREFIX = "FLOWUI_SECRET_"
SERVICE = "flowui"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# `secrets.NAME` or `secrets['NAME']` / `secrets["NAME"]` inside a template
_REFERENCE_RE = re.compile(
    r"""\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\])""")


def references(value: Any) -> set[str]:
    """Names of the secrets a config value's templates refer to, at any depth."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "secrets" in item:
                found.update(a or b for a, b in _REFERENCE_RE.findall(item))
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


class SecretStore:
    """Secret values by name: environment first, then the OS keychain."""

    def __init__(self, *, environ: Mapping[str, str] | None = None,
                 index_path: Path | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._index_path = index_path

    @property
    def index_path(self) -> Path:
        return self._index_path or data_dir() / "secrets.json"

    # --- the keychain -------------------------------------------------------------------

    @staticmethod
    def keychain() -> Any | None:
        """The keyring backend, or None where there is no usable keychain."""
        try:
            import keyring
            from keyring.backends import fail
        except ImportError:
            return None
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
            return None
        return backend

    def keychain_note(self) -> str | None:
        """A sentence for users when there is no keychain, else None."""
        if self.keychain() is not None:
            return None
        return ("no OS keychain is available here (common on headless Linux and in CI): "
                f"secrets are read from environment variables {ENV_PREFIX}<NAME>")

    # --- reading ------------------------------------------------------------------------

    def get(self, name: str) -> str | None:
        value = self._environ.get(ENV_PREFIX + name)
        if value is not None:
            return value
        backend = self.keychain()
        if backend is None:
            return None
        try:
            return backend.get_password(SERVICE, name)
        except Exception as e:  # a locked or broken keychain must not crash a run
            raise SecretsError(f"cannot read secret {name!r} from the keychain: {e}") from None

    def resolve(self, names: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """(values found, names missing)."""
        values, missing = {}, []
        for name in sorted(set(names)):
            value = self.get(name)
            if value is None:
                missing.append(name)
            else:
                values[name] = value
        return values, missing

    def names(self) -> list[str]:
        """Names of stored secrets and of those set in the environment."""
        stored = set(self._read_index())
        env = {k[len(ENV_PREFIX):] for k in self._environ if k.startswith(ENV_PREFIX)}
        return sorted(stored | env)

    def source(self, name: str) -> str:
        if ENV_PREFIX + name in self._environ:
            return "environment"
        return "keychain" if name in self._read_index() else "missing"

    # --- writing ------------------------------------------------------------------------

    def set(self, name: str, value: str) -> None:
        self._check_name(name)
        if not value:
            raise SecretsError("a secret cannot be empty")
        backend = self.keychain()
        if backend is None:
            raise SecretsError(f"{self.keychain_note()}; set {ENV_PREFIX}{name} instead")
        try:
            backend.set_password(SERVICE, name, value)
        except Exception as e:
            raise SecretsError(f"cannot store secret {name!r} in the keychain: {e}") from None
        self._write_index(sorted({*self._read_index(), name}))

    def delete(self, name: str) -> None:
        self._check_name(name)
        stored = self._read_index()
        backend = self.keychain()
        if name not in stored:
            raise SecretsError(f"there is no stored secret {name!r}"
                               + (f" (it is set in the environment as {ENV_PREFIX}{name})"
                                  if ENV_PREFIX + name in self._environ else ""))
        if backend is not None:
            try:
                backend.delete_password(SERVICE, name)
            except Exception as e:
                if type(e).__name__ != "PasswordDeleteError":  # already gone: fine
                    raise SecretsError(f"cannot delete secret {name!r}: {e}") from None
        self._write_index([n for n in stored if n != name])

    @staticmethod
    def _check_name(name: str) -> None:
        if not NAME_RE.match(name):
            raise SecretsError(f"secret name {name!r} must be letters, digits and _ "
                               "(and not start with a digit), e.g. OPENAI_API_KEY")

    def _read_index(self) -> list[str]:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [n for n in data.get("names", []) if isinstance(n, str)]

    def _write_index(self, names: list[str]) -> None:
        self.index_path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.index_path, json.dumps({"names": names}, indent=2) + "\n")


class MappingSecrets(SecretStore):
    """Secrets from a plain mapping: for tests and for programs embedding the engine."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(environ={ENV_PREFIX + k: v for k, v in values.items()})
