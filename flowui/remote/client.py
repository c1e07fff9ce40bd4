"""An async client of flowserver's REST API (docs/api.md) on httpx: every call runs on
the Qt loop (qasync) and never blocks the window. Errors come back as RemoteError
with the server's own message."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

TIMEOUT_S = 15.0  # a request that takes longer says so instead of hanging


class RemoteError(Exception):
    """A request the server refused, or could not be made; `status` 0: no answer."""

    def __init__(self, status: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.details = status, details


class ServerClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._http = httpx.AsyncClient(base_url=self.url, timeout=TIMEOUT_S,
                                       headers={"Authorization": f"Bearer {token}"})

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    @property
    def ws_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise RemoteError(0, f"cannot reach {self.url}: {type(e).__name__} "
                              f"{e}".strip()) from None
        if response.status_code >= 400:
            raise _error(response, self.url)
        return response

    async def check(self) -> None:
        """A request that needs the token: a wrong one is a RemoteError(401)."""
        await self.request("GET", "/workflows")

    async def workflows(self) -> list[dict[str, Any]]:
        return list((await self.request("GET", "/workflows")).json()["workflows"])

    async def workflow(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = (await self.request("GET", f"/workflows/{quote(name)}")).json()
        return data

    async def save_workflow(self, name: str, document: dict[str, Any],
                            if_match: str | None) -> str:
        """PUT (create when new): the stored hash. 412 when `if_match` is stale."""
        headers = {"If-Match": f'"{if_match}"'} if if_match else {}
        response = await self.request("PUT", f"/workflows/{quote(name)}",
                                      json={"workflow": document}, headers=headers)
        return str(response.json()["hash"])

    async def create_workflow(self, name: str, document: dict[str, Any]) -> str:
        response = await self.request("POST", "/workflows",
                                      json={"name": name, "workflow": document})
        return str(response.json()["hash"])

    async def start_run(self, workflow: str | dict[str, Any],
                        inputs: dict[str, Any] | None = None) -> str:
        response = await self.request("POST", "/runs", json={"workflow": workflow,
                                                              "inputs": inputs or {}})
        return str(response.json()["run_id"])

    async def cancel_run(self, run_id: str) -> None:
        await self.request("POST", f"/runs/{quote(run_id)}/cancel")

    async def runs(self, limit: int = 100) -> list[dict[str, Any]]:
        data = (await self.request("GET", "/runs", params={"limit": limit})).json()
        return list(data["runs"])


def _error(response: httpx.Response, url: str) -> RemoteError:
    status = response.status_code
    try:
        error = response.json()["error"]
        message, details = str(error["message"]), error.get("details")
    except (ValueError, KeyError, TypeError):
        message, details = response.text[:200] or response.reason_phrase, None
    if status == 401:
        message = (f"{url} refused the token (401): check the token the server printed "
                   "on its first start (its data folder's server-token file)")
    return RemoteError(status, message, details)
