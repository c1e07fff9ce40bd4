"""A webhook client's credentials, as serve mode keeps them out of everything it
records: the values a run must mask, and the payload with those headers blanked."""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

# Request headers that carry the client's credentials: never written to a dead letter.
_CREDENTIAL_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "apikey",
    "x-auth-token", "x-access-token", "x-csrf-token", "x-xsrf-token", "x-amz-security-token",
    "x-goog-api-key", "ocp-apim-subscription-key", "x-hub-signature", "x-hub-signature-256",
})
_CREDENTIAL_WORDS = ("auth", "token", "secret", "password", "passwd", "session", "api-key",
                     "apikey", "signature", "cookie")


_WORDS = re.compile("|".join(map(re.escape, _CREDENTIAL_WORDS)))


@lru_cache(maxsize=4096)  # bounded; clients send the same few header names every time
def _credential(header: str) -> bool:
    name = header.lower()
    return name in _CREDENTIAL_HEADERS or _WORDS.search(name) is not None


def credential_values(payload: Mapping[str, Any]) -> list[str]:
    """The client's credentials as the run must mask them: each credential header's
    value, its token without the scheme (`Bearer x` -> `x`), each cookie's value."""
    headers = payload.get("headers")
    if not isinstance(headers, Mapping):
        return []
    out: list[str] = []
    for name, value in headers.items():
        if not isinstance(value, str) or not _credential(name):
            continue
        out.append(value)
        scheme, _, token = value.partition(" ")
        if token and scheme.isalpha():
            out.append(token.strip())
        if scheme.lower() == "basic":  # user:password, base64: the password as sent
            with contextlib.suppress(ValueError):
                decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
                out += [decoded, decoded.partition(":")[2]]
        if "cookie" in name.lower():
            out += [v.strip() for _, _, v in (c.partition("=") for c in value.split(";"))]
    return [v for v in out if len(v) >= 4]  # shorter ones would mask ordinary words


def without_credentials(payload: dict[str, Any]) -> dict[str, Any]:
    headers = payload.get("headers")
    if not isinstance(headers, Mapping):
        return payload
    return {**payload, "headers": {k: "***" if _credential(k) else v
                                   for k, v in headers.items()}}
