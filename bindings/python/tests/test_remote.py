"""The control plane's bundle in Python (issue 22, part 2), against a real ``gatehouse serve``:
``Engine.from_url`` loads ``GET /v1/bundle`` once, verifying its signature; ``BundleWatcher``
polls with ``If-None-Match`` (``304`` while nothing changed), swaps in a newer signed revision,
and keeps the running engine when the server serves an unsigned or tampered bundle, an older
signed one (a rollback, issue 22) or another bundle under the running revision, or is gone. The server itself trusts no key here, so it serves whatever its directory holds: the
embedder's keys are what keep a bad bundle out. The bundle is a copy of ``policies/`` signed by
the ``gatehouse`` binary with the test-only key."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Dict, Iterator, Tuple

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from conftest import POLICIES, REPO, load_case
from test_signing import KEYS, TRUSTED, UNTRUSTED, gatehouse_binary, sign

from gatehouse import BundleWatcher, Engine, compare_revisions
from gatehouse.errors import BundleError, BundleFetchError, BundleRollbackError, BundleSignatureError
from gatehouse.remote import fetch_bundle

READER = "remote-test-reader"
ADMIN = "remote-test-admin"
CASE = "allow-dev-minimal"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token_entry(name: str, role: str, token: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return f'[[tokens]]\nname = "{name}"\nrole = "{role}"\nsha256 = "{digest}"\n\n'


class Served:
    """A `gatehouse serve` over a signed copy of ``policies/`` (trusting no key itself)."""

    def __init__(self, tmp: Path) -> None:
        self.bundle = tmp / "policies"
        shutil.copytree(POLICIES, self.bundle, ignore=shutil.ignore_patterns("examples", "conformance"))
        sign(self.bundle, KEYS / "trusted.pem")
        port = free_port()
        config = tmp / "gatehouse.toml"
        config.write_text(
            f'listen = "127.0.0.1:{port}"\n'
            f"database = {json.dumps(str(tmp / 'gatehouse.db'))}\n"
            f"policies = {json.dumps(str(self.bundle))}\n\n"
            + token_entry("reader@example.com", "auditor", READER)
            + token_entry("admin@example.com", "admin", ADMIN)
        )
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(gatehouse_binary()), "serve", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise AssertionError(f"gatehouse serve did not start: {stderr}")
            time.sleep(0.1)

    def revise(self, revision: str, *, key: str = "trusted", signed: bool = True) -> None:
        """A new revision on disk, signed by ``key`` (or the signature removed), then reloaded."""
        manifest = self.bundle / "bundle.json"
        document = json.loads(manifest.read_text())
        document["revision"] = revision
        manifest.write_text(json.dumps(document, indent=2) + "\n")
        if signed:
            sign(self.bundle, KEYS / f"{key}.pem")
        else:
            (self.bundle / "bundle.sig.json").unlink(missing_ok=True)
        self.reload()

    def reload(self) -> None:
        answer = httpx.post(
            f"{self.base}/v1/admin/reload", json={}, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
        )
        assert answer.status_code == 200, answer.text

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if self.process.stderr:
            self.process.stderr.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def decide(engine: Engine) -> str:
    case = load_case(CASE)
    return engine.evaluate(case["intent"], **case["context"]).to_json()


def test_from_url_loads_the_servers_signed_bundle(served: Served) -> None:
    engine = Engine.from_url(served.base, trusted_keys=[TRUSTED], token=READER)
    local = Engine.from_directory(served.bundle, trusted_keys=[TRUSTED])
    assert engine.bundle_digest == local.bundle_digest
    assert decide(engine) == decide(local)
    # The bundle's own URL works too, and the key may be PEM text.
    again = Engine.from_url(f"{served.base}/v1/bundle", trusted_keys=[TRUSTED.read_text()], token=READER)
    assert again.bundle_digest == engine.bundle_digest


def test_from_url_refuses_what_it_cannot_trust_or_fetch(served: Served) -> None:
    with pytest.raises(BundleFetchError) as no_token:
        Engine.from_url(served.base, trusted_keys=[TRUSTED])
    assert "401" in str(no_token.value) and no_token.value.code == "bundle_fetch_failed"
    assert isinstance(no_token.value, BundleError)

    served.revise("2099.01.01-1", signed=False)
    with pytest.raises(BundleSignatureError) as unsigned:
        Engine.from_url(served.base, trusted_keys=[TRUSTED], token=READER)
    assert unsigned.value.code == "bundle_unsigned"
    # Without keys the signature is not required.
    assert Engine.from_url(served.base, token=READER).bundle_revision == "2099.01.01-1"

    served.stop()
    with pytest.raises(BundleFetchError):
        Engine.from_url(served.base, trusted_keys=[TRUSTED], token=READER, timeout=2)


def test_the_watcher_follows_signed_revisions_and_keeps_out_the_rest(served: Served) -> None:
    watcher = BundleWatcher(served.base, trusted_keys=[TRUSTED], token=READER, interval=3600)
    with watcher:
        first = watcher.engine
        status = watcher.status
        assert (status.updates, status.checks, status.last_error) == (1, 1, None)
        assert status.digest == first.bundle_digest and status.etag
        assert status.revision == first.bundle_revision

        # Unchanged: 304, the same engine.
        assert watcher.check() is False
        assert watcher.engine is first
        assert (watcher.status.not_modified, watcher.status.checks) == (1, 2)

        # A new revision, signed by the trusted key: swapped in.
        served.revise("2099.01.01-1")
        assert watcher.check() is True
        second = watcher.engine
        assert second.bundle_revision == "2099.01.01-1"
        assert watcher.status.revision == "2099.01.01-1" and watcher.status.updates == 2
        assert watcher.check() is False

        # Tampered (a rule changed after signing), unsigned, or signed by an unknown key: kept out.
        rule = served.bundle / "rules" / "compute" / "size_allowed.rego"
        rule.write_text(rule.read_text() + "\n# changed after signing\n")
        served.reload()
        for attack, code in [
            (lambda: None, "bundle_file_changed"),
            (lambda: served.revise("2099.01.01-2", signed=False), "bundle_unsigned"),
            (lambda: served.revise("2099.01.01-3", key="untrusted"), "bundle_signature_unknown_key"),
        ]:
            attack()
            before = watcher.status.checks
            with pytest.raises(BundleSignatureError) as refused:
                watcher.check()
            assert refused.value.code == code
            assert watcher.engine is second
            status = watcher.status
            assert status.revision == "2099.01.01-1" and status.checks == before + 1
            assert status.last_error == str(refused.value)
            assert status.last_error_at == status.last_checked
            assert decide(watcher.engine) == decide(second)

        # The server gone: a fetch error, the engine kept.
        served.stop()
        with pytest.raises(BundleFetchError):
            watcher.check()
        assert watcher.engine is second
        assert "failed" in (watcher.status.last_error or "")
    assert watcher._thread is None


def restore(served: Served, saved: Path) -> None:
    """The server's directory put back as ``saved`` holds it (its signature included), then
    reloaded: the older document served again, byte for byte."""
    shutil.rmtree(served.bundle)
    shutil.copytree(saved, served.bundle)
    served.reload()


def test_the_watcher_refuses_a_rollback_to_an_older_signed_revision(served: Served, tmp_path: Path) -> None:
    served.revise("2099.01.01-1")
    older = tmp_path / "older"
    shutil.copytree(served.bundle, older)
    served.revise("2099.01.01-2")
    with BundleWatcher(served.base, trusted_keys=[TRUSTED, UNTRUSTED], token=READER, interval=3600) as watcher:
        running = watcher.engine
        assert running.bundle_revision == "2099.01.01-2"

        # The older directory, validly signed by the trusted key, served again (a stale or
        # restored server, a replayed answer): refused, the running engine kept.
        restore(served, older)
        assert Engine.from_url(served.base, trusted_keys=[TRUSTED], token=READER).bundle_revision == "2099.01.01-1"
        for _ in range(2):  # refused at every poll, not only the first
            with pytest.raises(BundleRollbackError) as refused:
                watcher.check()
            assert refused.value.code == "bundle_rollback" and isinstance(refused.value, BundleError)
            assert watcher.engine is running
            status = watcher.status
            assert status.revision == "2099.01.01-2" and status.digest == running.bundle_digest
            assert status.last_error == str(refused.value)
            assert "`2099.01.01-1`" in status.last_error and "`2099.01.01-2`" in status.last_error
            assert "rollback" in status.last_error
            assert refused.value.errors()[0]["path"] == watcher.url

        # A lower revision signed afresh: refused the same way.
        served.revise("2098.12.31-9")
        with pytest.raises(BundleRollbackError) as lower:
            watcher.check()
        assert lower.value.code == "bundle_rollback" and "`2098.12.31-9`" in str(lower.value)

        # Another bundle (a rule changed, then signed) under the running revision: refused.
        served.revise("2099.01.01-2")
        rule = served.bundle / "rules" / "compute" / "size_allowed.rego"
        rule.write_text(rule.read_text() + "\n# changed, signed under the same revision\n")
        served.revise("2099.01.01-2")
        with pytest.raises(BundleRollbackError) as reused:
            watcher.check()
        assert reused.value.code == "bundle_revision_reused"
        assert "`2099.01.01-2`" in str(reused.value) and running.bundle_digest in str(reused.value)
        assert watcher.engine is running and watcher.status.updates == 1

        # The running bundle re-signed by another trusted key (a key rotation): the same revision
        # and digest under a new ETag, accepted.
        rule.write_text(rule.read_text().replace("\n# changed, signed under the same revision\n", ""))
        served.revise("2099.01.01-2", key="untrusted")
        assert watcher.check() is True
        assert watcher.engine.bundle_digest == running.bundle_digest
        assert watcher.status.last_success == watcher.status.last_checked

        # Forward still works.
        served.revise("2099.01.01-3")
        assert watcher.check() is True
        assert watcher.engine.bundle_revision == "2099.01.01-3"


def test_min_revision_refuses_an_older_first_bundle(served: Served) -> None:
    current = Engine.from_url(served.base, trusted_keys=[TRUSTED], token=READER).bundle_revision
    assert compare_revisions(current, "2099.01.01-1") == -1
    assert Engine.from_url(served.base, trusted_keys=[TRUSTED], token=READER, min_revision=current)
    with pytest.raises(BundleRollbackError) as refused:
        Engine.from_url(served.base, trusted_keys=[TRUSTED], token=READER, min_revision="2099.01.01-1")
    assert refused.value.code == "bundle_rollback"
    assert f"`{current}`" in str(refused.value) and "`2099.01.01-1`" in str(refused.value)
    watcher = BundleWatcher(served.base, trusted_keys=[TRUSTED], token=READER, min_revision="2099.01.01-1")
    with pytest.raises(BundleRollbackError):
        watcher.start()
    with pytest.raises(RuntimeError):
        watcher.engine
    served.revise("2099.01.01-1")
    with watcher:
        assert watcher.engine.bundle_revision == "2099.01.01-1"


def test_compare_revisions_is_the_control_planes_order() -> None:
    for a, b, order in [
        ("2026.12.04-1", "2026.12.04-2", -1),
        ("2026.12.04-10", "2026.12.04-9", 1),
        ("1.9", "1.10", -1),
        ("1.010", "1.10", 0),
        ("1", "1.1", -1),
        ("2026.12.04-1", "next", -1),
    ]:
        assert compare_revisions(a, b) == order, (a, b)
        assert compare_revisions(b, a) == -order, (b, a)


def test_the_watcher_polls_in_the_background(served: Served) -> None:
    with BundleWatcher(served.base, trusted_keys=[TRUSTED], token=READER, interval=0.1) as watcher:
        served.revise("2099.01.01-1")
        deadline = time.monotonic() + 30
        while watcher.engine.bundle_revision != "2099.01.01-1":
            assert time.monotonic() < deadline, watcher.status
            time.sleep(0.05)
        # Background polls of an unchanged bundle are 304s.
        seen = watcher.status.not_modified
        while watcher.status.not_modified < seen + 2:
            assert time.monotonic() < deadline, watcher.status
            time.sleep(0.05)


def test_the_first_load_fails_closed(served: Served) -> None:
    served.revise("2099.01.01-1", signed=False)
    watcher = BundleWatcher(served.base, trusted_keys=[TRUSTED], token=READER)
    with pytest.raises(BundleSignatureError):
        watcher.start()
    with pytest.raises(RuntimeError):
        watcher.engine
    assert watcher.status.last_error and watcher.status.revision is None


def test_the_watcher_in_a_fastapi_lifespan_under_uvicorn(served: Served) -> None:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with BundleWatcher(served.base, trusted_keys=[TRUSTED], token=READER, interval=0.1) as watcher:
            app.state.watcher = watcher
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/bundle")
    def bundle(request: Request) -> Dict[str, str]:
        engine = request.app.state.watcher.engine
        return {"revision": engine.bundle_revision, "digest": engine.bundle_digest}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.05)
        first = httpx.get(f"http://127.0.0.1:{port}/bundle", timeout=10).json()
        assert first["revision"] != "2099.01.01-1"
        served.revise("2099.01.01-1")
        while True:
            now = httpx.get(f"http://127.0.0.1:{port}/bundle", timeout=10).json()
            if now["revision"] == "2099.01.01-1":
                break
            assert time.monotonic() < deadline, now
            time.sleep(0.05)
        watcher: BundleWatcher = app.state.watcher
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert watcher._thread is None  # the lifespan stopped it


def test_async_with_runs_off_the_event_loop(served: Served) -> None:
    async def main() -> Tuple[str, int]:
        async with BundleWatcher(served.base, trusted_keys=[TRUSTED], token=READER, interval=3600) as watcher:
            return watcher.engine.bundle_revision, watcher.status.updates

    revision, updates = asyncio.run(main())
    assert updates == 1 and revision


def test_the_watcher_keeps_its_engine_on_5xx_and_invalid_documents(served: Served) -> None:
    """A stand-in server that first serves the control plane's signed document, then a 503, then
    a document that is not a bundle."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    fetched = fetch_bundle(served.base, token=READER)
    assert fetched is not None
    document, etag = fetched
    answer = {"status": 200, "body": document}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = str(answer["body"]).encode()
            self.send_response(int(answer["status"]))
            self.send_header("ETag", str(etag))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    stub = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{stub.server_address[1]}"
        with BundleWatcher(url, trusted_keys=[TRUSTED], interval=3600) as watcher:
            engine = watcher.engine
            answer.update(status=503, body='{"title": "unavailable"}')
            with pytest.raises(BundleFetchError) as unavailable:
                watcher.check()
            assert "503" in str(unavailable.value)
            answer.update(status=200, body='{"format": "gatehouse.bundle/v1"}')
            with pytest.raises(BundleError) as invalid:
                watcher.check()
            assert invalid.value.code == "bundle_format"
            assert watcher.engine is engine
            assert watcher.status.updates == 1 and watcher.status.checks == 3
    finally:
        stub.shutdown()
        stub.server_close()
