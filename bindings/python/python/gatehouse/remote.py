"""The control plane's bundle in-process: :meth:`Engine.from_url <gatehouse.Engine.from_url>`
fetches ``GET /v1/bundle`` once, :class:`BundleWatcher` keeps polling it.

The watcher sends ``If-None-Match`` with the ETag of the bundle it runs, so an unchanged bundle
costs a ``304`` without a body. A new document is loaded as :meth:`Engine.from_bundle
<gatehouse.Engine.from_bundle>` loads it (with ``trusted_keys``, its signature is verified by
the core first), and only an engine that loaded replaces the running one, in one assignment:
a caller reads either the old engine or the new one, never a half-loaded one. Any failure (the
network, an HTTP error, a bad or missing signature, a bundle that does not load) keeps the
running engine and is recorded in :attr:`BundleWatcher.status`. With keys configured, an
unsigned or tampered bundle is never swapped in (fail closed).

The running bundle never moves back: a document whose revision is lower than the running one's
(:func:`compare_revisions`, the control plane's order) is refused as a rollback, even when it is
validly signed (a stale or compromised server, a replayed answer), and so is another bundle
under the running revision (a different digest). The same bundle re-signed (same revision, same
digest, a new signature, so a new ETag) is accepted: its rules are the ones running. This is
what the control plane does with its active bundle, which only moves to a higher revision.

HTTP is the standard library's (``urllib.request``): one GET per poll, no dependency.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Iterable, List, Optional, Tuple, Type

from gatehouse.engine import DEFAULT_TIME_LIMIT, Engine, TrustedKeyInput, _pem_text
from gatehouse import _native
from gatehouse.errors import BundleFetchError, BundleRollbackError

__all__ = [
    "BUNDLE_PATH",
    "MAX_DOCUMENT_BYTES",
    "BundleWatcher",
    "WatcherStatus",
    "compare_revisions",
    "fetch_bundle",
]

BUNDLE_PATH = "/v1/bundle"
"""The control plane's route of the packed bundle, appended to a URL that does not end with it."""

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""The largest packed bundle document read (its files may hold 16 MiB; JSON escaping adds to
that). A larger answer is a :class:`~gatehouse.errors.BundleFetchError`."""


def bundle_url(url: str) -> str:
    """The URL of the packed bundle: ``url`` itself when it ends with :data:`BUNDLE_PATH`,
    otherwise the control plane's base URL ``url`` with the route appended."""
    base = url.rstrip("/")
    return base if base.endswith(BUNDLE_PATH) else base + BUNDLE_PATH


def _keys(trusted_keys: Iterable[TrustedKeyInput]) -> List[str]:
    if isinstance(trusted_keys, (str, bytes, os.PathLike)):
        raise TypeError("`trusted_keys` is a list of keys; wrap a single key in a list")
    return [_pem_text(key, index) for index, key in enumerate(trusted_keys)]


def _failure(url: str, message: str) -> BundleFetchError:
    return BundleFetchError(
        message,
        [
            {
                "code": "bundle_fetch_failed",
                "message": message,
                "path": url,
                "help": "check the URL, the token (any role may read the bundle) and that the control plane is up",
            }
        ],
    )


def compare_revisions(a: str, b: str) -> int:
    """How two bundle revisions (the manifest's ``revision``) order, as the control plane orders
    them: ``-1`` when ``a`` comes before ``b``, ``0`` when they are the same revision, ``1`` when
    ``a`` comes after ``b``. Runs of digits compare as numbers and other runs as text, piece by
    piece, and a prefix comes first: ``2026.12.04-1 < 2026.12.04-2 < 2026.12.05-1``, ``1.9 <
    1.10``, ``1.010 == 1.10``."""
    return _native.compare_revisions(a, b)


def _rollback(url: str, code: str, message: str) -> BundleRollbackError:
    return BundleRollbackError(
        message,
        [
            {
                "code": code,
                "message": message,
                "path": url,
                "help": "publish the bundle under a revision higher than the running one; "
                "if the server was restored from an older state, bring its bundle forward",
            }
        ],
    )


def _refuse_rollback(url: str, engine: Engine, revision: str, digest: Optional[str] = None) -> None:
    """Raises :class:`~gatehouse.errors.BundleRollbackError` when ``engine`` (just loaded from
    ``url``) would move the bundle back from ``revision``: its revision is lower
    (``bundle_rollback``), or it is the same revision with a digest other than ``digest``
    (``bundle_revision_reused``; not checked when ``digest`` is ``None``)."""
    order = compare_revisions(engine.bundle_revision, revision)
    if order < 0:
        raise _rollback(
            url,
            "bundle_rollback",
            f"{url} served bundle revision `{engine.bundle_revision}`, lower than the running "
            f"revision `{revision}`: refused as a rollback",
        )
    if order == 0 and digest is not None and engine.bundle_digest != digest:
        raise _rollback(
            url,
            "bundle_revision_reused",
            f"{url} served another bundle under the running revision `{revision}` "
            f"(digest {engine.bundle_digest}, running {digest}): refused, a changed bundle needs "
            "a higher revision",
        )


def fetch_bundle(
    url: str, *, token: Optional[str] = None, timeout: float = 30.0, etag: Optional[str] = None
) -> Optional[Tuple[str, Optional[str]]]:
    """One ``GET`` of the packed bundle (:func:`bundle_url`): its JSON text and ``ETag``, or
    ``None`` when ``etag`` is given and the server answers ``304 Not Modified``. ``token`` is
    sent as a bearer token. Raises :class:`~gatehouse.errors.BundleFetchError` on anything else."""
    target = bundle_url(url)
    request = urllib.request.Request(target, headers={"Accept": "application/json"})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if etag is not None:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
            answered_etag = response.headers.get("ETag")
    except urllib.error.HTTPError as error:
        with error:
            if error.code == 304 and etag is not None:
                return None
            detail = error.read(2000).decode("utf-8", errors="replace").strip()
        raise _failure(target, f"GET {target} answered {error.code} {error.reason}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise _failure(target, f"GET {target} failed: {reason}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise _failure(target, f"GET {target} answered more than {MAX_DOCUMENT_BYTES} bytes")
    return body.decode("utf-8", errors="replace"), answered_etag


@dataclass(frozen=True)
class WatcherStatus:
    """What a :class:`BundleWatcher` runs and how its polls went (a snapshot; times are
    ``time.time()`` seconds)."""

    revision: Optional[str]
    """The running bundle's revision (``None`` before the first bundle loaded)."""
    digest: Optional[str]
    """The running bundle's digest, as its decisions report it."""
    etag: Optional[str]
    """The ETag the running bundle was served with (sent as ``If-None-Match``)."""
    last_success: Optional[float]
    """When a poll last ended well: a new bundle loaded, or ``304`` (unchanged)."""
    last_error: Optional[str]
    """The message of the last failed poll (``None`` if none failed); the engine was kept."""
    last_error_at: Optional[float]
    """When that poll failed."""
    last_checked: Optional[float]
    """When the last poll ended, well or not."""
    checks: int = 0
    """Polls so far."""
    not_modified: int = 0
    """Polls answered ``304``."""
    updates: int = 0
    """Bundles loaded (the first one included)."""


class BundleWatcher:
    """Keeps an :class:`~gatehouse.Engine` on the control plane's current bundle.

    ``url`` is the control plane's base URL (or the bundle's URL, ending with ``/v1/bundle``);
    ``token`` a bearer token of any role. Every ``interval`` seconds (after :meth:`start`) it
    polls with ``If-None-Match``; a new document is verified against ``trusted_keys`` (the
    key forms of :meth:`Engine.from_directory <gatehouse.Engine.from_directory>`) and loaded,
    then swapped in atomically. On any failure the running engine stays and :attr:`status`
    records the error. A bundle whose revision is lower than the running one's, or another
    bundle under the running revision, is refused
    (:class:`~gatehouse.errors.BundleRollbackError`): the running bundle never moves back.
    ``min_revision`` applies the same floor to the first load (e.g. the revision a previous
    process ran). ``time_limit``, ``split`` and ``cache_size`` are the engine's.

    :meth:`start` loads the first bundle on the calling thread and raises if it cannot (there is
    no engine to judge with otherwise), then polls on a daemon thread until :meth:`stop`. Use it
    as a context manager (``with``), or ``async with`` in a FastAPI lifespan, where the first
    load and the stop run off the event loop.
    """

    def __init__(
        self,
        url: str,
        *,
        trusted_keys: Iterable[TrustedKeyInput] = (),
        token: Optional[str] = None,
        interval: float = 30.0,
        timeout: float = 10.0,
        min_revision: Optional[str] = None,
        time_limit: float = DEFAULT_TIME_LIMIT,
        split: int = 1,
        cache_size: int = 0,
    ) -> None:
        if not interval > 0:
            raise ValueError("`interval` is a positive number of seconds")
        self.url = bundle_url(url)
        self.interval = float(interval)
        self.timeout = float(timeout)
        self._keys = _keys(trusted_keys)
        self._token = token
        self._min_revision = min_revision
        self._time_limit = time_limit
        self._split = split
        self._cache_size = cache_size
        self._engine: Optional[Engine] = None
        self._status = WatcherStatus(None, None, None, None, None, None, None)
        self._lock = threading.Lock()
        self._polling = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def engine(self) -> Engine:
        """The running engine (read it for each decision: a poll may replace it)."""
        engine = self._engine
        if engine is None:
            raise RuntimeError("no bundle loaded yet: call start() (or check()) first")
        return engine

    @property
    def status(self) -> WatcherStatus:
        """What runs and how the polls went."""
        with self._lock:
            return self._status

    def check(self) -> bool:
        """Polls once: ``True`` when a new bundle was loaded and swapped in, ``False`` when it is
        unchanged (``304``). Raises the failure (:class:`~gatehouse.errors.BundleFetchError`,
        :class:`~gatehouse.errors.BundleSignatureError`,
        :class:`~gatehouse.errors.BundleRollbackError` for a lower revision or another bundle
        under the running revision, :class:`~gatehouse.errors.BundleError`) after recording it;
        the running engine stays."""
        with self._polling:
            etag = self._status.etag if self._engine is not None else None
            try:
                fetched = fetch_bundle(self.url, token=self._token, timeout=self.timeout, etag=etag)
                if fetched is None:
                    self._record(not_modified=True)
                    return False
                text, new_etag = fetched
                engine = Engine.from_bundle(
                    text,
                    trusted_keys=self._keys,
                    time_limit=self._time_limit,
                    split=self._split,
                    cache_size=self._cache_size,
                )
                running = self._engine
                if running is not None:
                    _refuse_rollback(self.url, engine, running.bundle_revision, running.bundle_digest)
                elif self._min_revision is not None:
                    _refuse_rollback(self.url, engine, self._min_revision)
            except Exception as error:
                self._record(error=error)
                raise
            self._engine = engine
            self._record(engine=engine, etag=new_etag)
            return True

    def _record(
        self,
        *,
        engine: Optional[Engine] = None,
        etag: Optional[str] = None,
        not_modified: bool = False,
        error: Optional[BaseException] = None,
    ) -> None:
        now = time.time()
        with self._lock:
            status = replace(self._status, last_checked=now, checks=self._status.checks + 1)
            if error is not None:
                status = replace(status, last_error=str(error) or type(error).__name__, last_error_at=now)
            else:
                status = replace(status, last_success=now)
            if not_modified:
                status = replace(status, not_modified=status.not_modified + 1)
            if engine is not None:
                status = replace(
                    status,
                    revision=engine.bundle_revision,
                    digest=engine.bundle_digest,
                    etag=etag,
                    updates=status.updates + 1,
                )
            self._status = status

    def start(self) -> BundleWatcher:
        """Loads the first bundle (raising if it cannot), then polls every :attr:`interval`
        seconds on a daemon thread. Returns the watcher."""
        if self._thread is not None:
            raise RuntimeError("the watcher is already started")
        if self._engine is None:
            self.check()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gatehouse-bundle-watcher", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # recorded in the status; the running engine stays
                pass

    def stop(self) -> None:
        """Stops polling (waits for a poll in progress); the engine stays readable."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def __enter__(self) -> BundleWatcher:
        return self.start()

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()

    async def __aenter__(self) -> BundleWatcher:
        return await asyncio.get_running_loop().run_in_executor(None, self.start)

    async def __aexit__(
        self,
        kind: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    def __repr__(self) -> str:
        status = self.status
        return f"BundleWatcher({self.url!r}, revision={status.revision!r}, digest={status.digest!r})"

