"""A real uvicorn server with the FastAPI integration, sent a 200 MB intent: it answers 413 and its
peak memory (``VmHWM``) stays far below the body. Reading the whole body first took the server to
887 MB. Runs on Linux (``/proc``); the server is a subprocess on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import httpx
import pytest
from conftest import POLICIES, cases_with_outcome, load_case

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")

SERVER = """
import sys
import uvicorn
from fastapi import Depends, FastAPI
from gatehouse import Decision, Engine
from gatehouse.fastapi import Gatehouse

gate = Gatehouse(Engine.from_directory(sys.argv[1]))
app = FastAPI()
gate.install(app)
app.include_router(gate.router(prefix="/gatehouse"))

@app.post("/deployments")
async def deploy(decision: Decision = Depends(gate.require_allowed)) -> Decision:
    return decision

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

BODY_MB = 200
CHUNK = b" " * (1024 * 1024)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def status_kib(pid: int) -> Dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields


@pytest.fixture(scope="module")
def server() -> Iterator[Tuple[str, int]]:
    """The server's URL and process id, once it answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(POLICIES), str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/gatehouse/schema", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
            # Until it listens: a tenth of a second at a time, failing at once if it exited.
            with pytest.raises(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def body() -> Iterator[bytes]:
    for _ in range(BODY_MB):
        yield CHUNK


def post(url: str, headers: Dict[str, str]) -> Optional[int]:
    """Posts the 200 MB body; the status, or ``None`` when the server closed the connection
    while the body was still being sent (after answering)."""
    try:
        return httpx.post(url, content=body(), headers=headers, timeout=120).status_code
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


@pytest.mark.parametrize("path", ["/gatehouse/evaluate", "/deployments"])
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_200_mb_body_is_refused_without_being_read(server: Tuple[str, int], path: str, declared: bool) -> None:
    url, pid = server
    headers = {"content-type": "application/json"}
    if declared:
        headers["content-length"] = str(BODY_MB * len(CHUNK))
    status = post(url + path, headers)
    after = status_kib(pid)
    print(f"{path} {'declared' if declared else 'chunked'}: status {status}, peak {after['VmHWM'] // 1024} MB, now {after['VmRSS'] // 1024} MB")
    assert status in (413, None), status
    # The body is 200 MB; an engine and a server take well under 100 MB.
    assert after["VmHWM"] < 150 * 1024, after
    # And the server still decides (by the clock: allowed, or a denial problem with its decision).
    case = load_case(cases_with_outcome("allow")[0])
    answer = httpx.post(url + "/gatehouse/evaluate", json=case["intent"], timeout=30)
    assert answer.status_code in (200, 403), answer.text
    assert answer.json()["outcome"] in ("allow", "needs_approval", "deny")
