"""schemathesis over flowserver's /openapi.json against a real server process: every
endpoint, every documented status, no 500, every response matching its schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.flowserver import hello, start

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")


def test_every_endpoint_conforms_to_openapi(tmp_path: Path) -> None:
    srv = start(tmp_path, env={"FLOWUI_DATA_DIR": str(tmp_path / "data")})
    try:
        srv.put_workflow("hello", hello())
        with srv.client() as c:  # a real run, so its endpoints answer more than 404
            run_id = c.post("/runs", json={"workflow": "hello"}).json()["run_id"]
        srv.wait_run(run_id)
        (tmp_path / "schemathesis.toml").write_text(f'parameters = {{ "path.run_id" = '
                                                    f'"{run_id}" }}\n')
        result = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{srv.url}/openapi.json", "--header",
             f"Authorization: Bearer {srv.token}", "--checks", "all",
             # A schema-valid workflow may still be refused (422): node types must exist
             # and the graph must be sound, which no JSON schema can say.
             "--exclude-checks", "positive_data_acceptance",
             "--max-examples", "10", "--workers", "1", "--no-color", "--seed", "1"],
            capture_output=True, text=True, timeout=400,
            cwd=tmp_path)  # its config is there; its cache (.schemathesis/) goes there too
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert "Tested: 18" in result.stdout  # every operation, none skipped
        assert "internal error" not in srv.err()
    finally:
        assert srv.stop() == 0, srv.err()
