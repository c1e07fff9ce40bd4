"""The bearer token: made on first start (mode 0600 in the data folder, printed once),
checked on every request but /health with a constant-time comparison.

WebSocket clients in a browser cannot set headers, so a WebSocket may also carry the
token as `?token=`; plain HTTP requests must use the `Authorization` header (a token in
a URL ends up in proxies' logs)."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import stat
from pathlib import Path

from engine.errors import ServeError
from engine.support.paths import data_dir

TOKEN_FILE = "server-token"
TOKEN_BYTES = 32  # 256 bits, URL-safe base64 (43 characters)


def default_token_file() -> Path:
    return data_dir() / TOKEN_FILE


def load_or_create(path: Path) -> tuple[str, bool]:
    """The token in `path`, made (0600, atomically, never overwritten) when the file does
    not exist; (token, created). ServeError when it is unreadable, empty or readable by
    others."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path), False
    except OSError as e:
        raise ServeError(f"cannot create the token file {path}: {e.strerror or e}") from None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, True


def _read(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ServeError(f"the token file {path} can be read by other users (mode "
                             f"{stat.S_IMODE(mode):o}); run `chmod 600 {path}`")
        token = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ServeError(f"cannot read the token file {path}: {e.strerror or e}") from None
    if len(token) < 16:
        raise ServeError(f"the token file {path} holds no token of at least 16 characters; "
                         "delete it and a new one is made on the next start")
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


class TokenCheck:
    """Compares presented credentials with the token in constant time."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token is not None else None

    @property
    def required(self) -> bool:
        return self._token is not None

    def accepts_header(self, authorization: str | None) -> bool:
        if self._token is None:
            return True
        scheme, _, value = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and self.accepts(value.strip())

    def accepts(self, presented: str | None) -> bool:
        if self._token is None:
            return True
        return hmac.compare_digest((presented or "").encode(), self._token)
