"""Fixtures for node tests: a real HTTP server on 127.0.0.1 (see tests/servers.py)."""

from __future__ import annotations

from tests.servers import http_server  # noqa: F401
