"""Where the server's address and token are kept: the URL in the editor's settings,
the token in the OS keychain (keyring, as engine.secrets), never in a file. Where
there is no keychain (headless Linux, CI) the token lives only for the session."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from PySide6.QtCore import QSettings

from engine.secrets.store import SecretStore

log = logging.getLogger("flowui.remote")
SERVICE = "flowui-server"  # the keychain entry's service; the account is the URL
URL_KEY = "remote/url"

_session_tokens: dict[str, str] = {}  # no keychain: kept in memory only


def _keychain() -> Any | None:
    return SecretStore.keychain()


def remembered_url(settings: QSettings) -> str:
    return str(settings.value(URL_KEY, "") or "")


def remember(settings: QSettings, url: str, token: str) -> None:
    settings.setValue(URL_KEY, url)
    _session_tokens[url] = token
    backend = _keychain()
    if backend is not None:
        try:
            backend.set_password(SERVICE, url, token)
        except Exception as e:  # a locked keychain: the session copy still works
            log.warning("cannot keep the server token in the keychain: %s", type(e).__name__)


def token_for(url: str) -> str:
    if url in _session_tokens:
        return _session_tokens[url]
    backend = _keychain()
    if backend is None:
        return ""
    try:
        return str(backend.get_password(SERVICE, url) or "")
    except Exception:
        return ""


def forget(url: str) -> None:
    _session_tokens.pop(url, None)
    backend = _keychain()
    if backend is not None:
        with contextlib.suppress(Exception):  # nothing stored
            backend.delete_password(SERVICE, url)
