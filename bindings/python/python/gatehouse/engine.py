"""The :class:`Engine`: a loaded governance bundle that turns intents into decisions."""

from __future__ import annotations

import json
import os
from types import MappingProxyType
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, TypedDict, Union

from gatehouse import _native
from gatehouse._time import TimeLike, rfc3339
from gatehouse.decision import ApprovalSource, Decision, Policy, SchemaError
from gatehouse.errors import BundleError, ContextError, ErrorDict, IntentError

__all__ = [
    "DEFAULT_MANIFEST",
    "DEFAULT_TIME_LIMIT",
    "MAX_CACHE_SIZE",
    "MAX_INTENT_BYTES",
    "MAX_SPLIT",
    "Approval",
    "CacheStats",
    "Engine",
    "HistoryEntry",
    "IntentInput",
    "intent_schema",
]

DEFAULT_TIME_LIMIT = 2.0
"""Wall-clock limit of one evaluation, in seconds, as the CLI sets it. A policy that runs longer
makes the decision ``deny`` with a ``limit_exceeded`` error."""

MAX_SPLIT: int = _native.MAX_SPLIT
"""The most parts ``split`` may ask for."""

MAX_CACHE_SIZE: int = _native.MAX_CACHE_SIZE
"""The most decisions ``cache_size`` may ask to keep (memory is taken as decisions are kept)."""

MAX_INTENT_BYTES: int = _native.MAX_INTENT_BYTES
"""The largest intent text accepted, in bytes (larger is an ``intent_too_large``
:class:`~gatehouse.errors.IntentError`; the FastAPI integration answers 413 without reading
further)."""

DEFAULT_MANIFEST: Mapping[str, str] = MappingProxyType({"name": "inline", "revision": "unversioned"})
"""The manifest of an :class:`Engine` built from dicts when no ``manifest`` is given."""

IntentInput = Union[Mapping[str, Any], str, bytes]
"""An intent: the parsed document (a dict), or its JSON or YAML text (``str`` or UTF-8
``bytes``)."""


class _ApprovalRequired(TypedDict):
    by: str
    role: str


class Approval(_ApprovalRequired, total=False):
    """An approval you vouch for: who (``by``, an email), in which ``role``, and optionally when
    (``at``), a ``comment``, who recorded it (``source``: ``caller`` by default,
    ``control_plane`` or ``github_review``) and where to see it (``reference``). Approvals
    written inside an intent are refused by the schema: pass them here. The requester's own
    approval never lifts anything."""

    at: str
    comment: str
    source: ApprovalSource
    reference: str


class _HistoryEntryRequired(TypedDict):
    deployment_id: str
    service: str
    environment: str
    artifact: str
    state: str


class HistoryEntry(_HistoryEntryRequired, total=False):
    """An earlier deployment, as the control plane reports it; ``finished_at`` is RFC 3339."""

    finished_at: str


class CacheStats(TypedDict):
    """The decision cache's counters: evaluations served from it (``hits``), evaluations that
    ran (``misses``), decisions dropped to make room (``evictions``), and how many it holds
    (``entries``, at most ``capacity``)."""

    hits: int
    misses: int
    evictions: int
    entries: int
    capacity: int


def intent_schema() -> Dict[str, Any]:
    """The DeploymentIntent JSON Schema (draft 2020-12), as a fresh dict."""
    return _native.intent_schema()


def _intent_arg(intent: IntentInput) -> Union[Dict[str, Any], str]:
    if isinstance(intent, (dict, str)):
        return intent
    if isinstance(intent, bytes):
        try:
            return intent.decode("utf-8")
        except UnicodeDecodeError as e:
            message = f"intent is not valid UTF-8 text: {e}"
            raise IntentError(message, [{"code": "intent_syntax", "message": message}]) from None
    if isinstance(intent, Mapping):
        return dict(intent)
    raise TypeError(
        "intent must be a dict (the parsed intent) or str/bytes (JSON or YAML text), "
        f"not {type(intent).__name__}"
    )


def _context(
    now: TimeLike,
    history: Optional[Sequence[HistoryEntry]],
    evidence: Any,
    approvals: Optional[Sequence[Approval]],
) -> Dict[str, Any]:
    context: Dict[str, Any] = {"now": rfc3339(now)}
    if history is not None:
        context["history"] = _records("history", history, "earlier deployments")
    if evidence is not None:
        context["evidence"] = evidence
    if approvals is not None:
        context["approvals"] = _records("approvals", approvals, "approvals ({by, role, ...})")
    return context


def _records(name: str, value: Any, what: str) -> List[Any]:
    """A context list (``history``, ``approvals``) as a list; one record or text instead of a list
    of records is a :class:`~gatehouse.errors.ContextError` (``list()`` would take its keys or
    letters for records)."""
    if isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Iterable):
        message = f"`{name}` must be a list of {what}, not a {type(value).__name__}"
        record: ErrorDict = {
            "code": "context_invalid",
            "message": message,
            "path": name,
            "help": f"wrap a single record in a list: `{name}=[...]`",
        }
        raise ContextError(message, [record])
    return list(value)


TrustedKeyInput = Union[str, bytes, "os.PathLike[str]"]
"""A trusted public key for :meth:`Engine.from_directory`, :meth:`Engine.from_bundle`,
:meth:`Engine.from_url` and :class:`~gatehouse.BundleWatcher`: PEM text (``str`` or ``bytes``), or
the path of a PEM file as an ``os.PathLike`` (e.g. ``pathlib.Path``; a ``str`` is always text)."""


def _pem_text(key: TrustedKeyInput, index: int) -> str:
    """The PEM text of a trusted key: text as given, a path's file read."""
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.decode("utf-8", errors="replace")
    if isinstance(key, os.PathLike):
        with open(key, encoding="utf-8", errors="replace") as file:
            return file.read()
    raise TypeError(
        f"trusted_keys[{index}] must be PEM text (str or bytes) or an os.PathLike, "
        f"not {type(key).__name__}"
    )


class Engine:
    """A loaded, compiled governance bundle. Immutable and thread-safe: share one engine between
    threads; evaluation releases the GIL, so a thread pool scales with the cores.

    Build it from a directory (:meth:`from_directory`), from a bundle's files (:meth:`from_files`),
    or from dicts::

        Engine(
            policies={"rules/tags.rego": "package gatehouse.policies.tags ..."},
            data={"governance": {"catalog": {...}, "reference": {...}}},
            manifest={"name": "my-bundle", "revision": "2026.11.23-1"},
        )

    With dicts, ``policies`` maps bundle paths of Rego modules (``*.rego``; ``*_test.rego`` files
    are Rego unit tests and take no part in decisions) to their source; ``data`` is the whole
    ``data`` document the policies read (the catalogue under ``governance.catalog``, exemptions
    under ``governance.exemptions``, reference data under ``governance.reference``) and, when not
    empty, becomes the bundle file ``data/data.json`` (compact JSON, sorted keys); ``manifest`` is
    ``{"name", "revision", "description"?}`` and becomes ``bundle.json`` (default
    :data:`DEFAULT_MANIFEST`). The bundle digest covers those files, so it differs from the digest
    of the same policies loaded from a directory whose data is split into several files.

    A bundle that does not load raises :class:`~gatehouse.errors.BundleError`.

    Every constructor takes ``split`` and ``cache_size``. ``split=n`` spreads each decision's
    policy packages over up to ``n`` parts that run on a thread pool at the same time (the same
    decisions, sooner on an idle machine with spare cores; :attr:`parts` says how many the
    bundle allowed). ``cache_size=n`` keeps up to ``n`` decisions: evaluating the same intent in
    the same context again returns the same decision from memory (:meth:`cache_stats`).
    """

    __slots__ = ("_native", "_policies")

    def __init__(
        self,
        policies: Mapping[str, str],
        data: Optional[Mapping[str, Any]] = None,
        *,
        manifest: Optional[Mapping[str, str]] = None,
        time_limit: float = DEFAULT_TIME_LIMIT,
        split: int = 1,
        cache_size: int = 0,
    ) -> None:
        files: Dict[str, str] = {}
        for path, text in policies.items():
            if not path.endswith(".rego"):
                message = (
                    f"`policies` maps paths of Rego modules (`*.rego`), and `{path}` is not one; "
                    "pass the data document as `data` and the manifest as `manifest`"
                )
                raise BundleError(message, [{"code": "bundle_unexpected_file", "message": message}])
            files[path] = text
        files["bundle.json"] = json.dumps(dict(manifest if manifest is not None else DEFAULT_MANIFEST))
        if data:
            files["data/data.json"] = json.dumps(
                data, sort_keys=True, separators=(",", ":"), allow_nan=False
            )
        self._native = _native.Engine.from_files(
            files, time_limit, split, cache_size
        )
        self._policies: Optional[Mapping[str, Policy]] = None

    @classmethod
    def _wrap(cls, native: _native.Engine) -> Engine:
        engine = cls.__new__(cls)
        engine._native = native
        engine._policies = None
        return engine

    @classmethod
    def from_directory(
        cls,
        path: Union[str, "os.PathLike[str]"],
        *,
        overlay: Optional[Mapping[str, str]] = None,
        time_limit: float = DEFAULT_TIME_LIMIT,
        split: int = 1,
        cache_size: int = 0,
        trusted_keys: Iterable[TrustedKeyInput] = (),
    ) -> Engine:
        """Loads the bundle in ``path`` (``bundle.json``, ``*.rego``, ``data/**/*.json``; hidden
        folders and ``examples/``, ``conformance/``, ``target/`` are skipped), as
        ``gatehouse check --policies`` does. ``overlay`` adds or replaces files (bundle path to
        text), e.g. to try a new policy against a bundle. Spans in errors name the files under
        ``path``.

        ``trusted_keys`` are ed25519 public keys in PEM, as ``openssl pkey -pubout`` writes them:
        PEM text (``str`` or ``bytes``) or the path of a PEM file (an ``os.PathLike`` such as
        ``pathlib.Path``; a ``str`` is always text). With any key the bundle must be signed by
        one of them (``gatehouse bundle sign`` writes ``bundle.sig.json``) over exactly the files
        loaded, overlay included, or it is refused with
        :class:`~gatehouse.errors.BundleSignatureError` naming the file; a key that is not an
        ed25519 public key raises :class:`~gatehouse.errors.BundleError`
        (``signing_key_invalid``, ``path`` ``trusted_keys[i]``). Without keys the signature is
        not checked."""
        if isinstance(trusted_keys, (str, bytes, os.PathLike)):
            raise TypeError("`trusted_keys` is a list of keys; wrap a single key in a list")
        native = _native.Engine.from_directory(
            os.fspath(path),
            dict(overlay or {}),
            time_limit,
            split,
            cache_size,
            [_pem_text(key, index) for index, key in enumerate(trusted_keys)],
        )
        return cls._wrap(native)

    @classmethod
    def from_files(
        cls,
        files: Mapping[str, str],
        *,
        time_limit: float = DEFAULT_TIME_LIMIT,
        split: int = 1,
        cache_size: int = 0,
    ) -> Engine:
        """Loads a bundle given as its files: bundle path (``bundle.json``, ``rules/x.rego``,
        ``data/catalog.json``) to text. The same files give the same digest as
        :meth:`from_directory`."""
        return cls._wrap(
            _native.Engine.from_files(
                dict(files),
                time_limit,
                split,
                cache_size,
            )
        )

    @classmethod
    def from_bundle(
        cls,
        document: Union[str, Mapping[str, Any]],
        *,
        time_limit: float = DEFAULT_TIME_LIMIT,
        split: int = 1,
        cache_size: int = 0,
        trusted_keys: Iterable[TrustedKeyInput] = (),
    ) -> Engine:
        """Loads a packed bundle document, as ``gatehouse bundle`` prints it and the control plane
        serves it (``GET /v1/bundle``): its JSON text or the parsed dict. The document must have
        the digest, name and revision of its files; otherwise
        :class:`~gatehouse.errors.BundleError` (``bundle_digest_mismatch``,
        ``bundle_manifest_mismatch``, ``bundle_format``). The engine has the server's digest.

        With ``trusted_keys`` (as for :meth:`from_directory`) the document must carry the bundle
        directory's signature (its ``signature``, which ``gatehouse bundle`` and the control
        plane add when the directory is signed) by one of them, over exactly its files (the
        signed ``*_test.rego`` files, which a packed bundle leaves out, excepted); otherwise
        :class:`~gatehouse.errors.BundleSignatureError` with the refusal's code and the file.
        Without keys the signature is not checked."""
        text = document if isinstance(document, str) else json.dumps(dict(document))
        if isinstance(trusted_keys, (str, bytes, os.PathLike)):
            raise TypeError("`trusted_keys` is a list of keys; wrap a single key in a list")
        return cls._wrap(
            _native.Engine.from_bundle(
                text,
                time_limit,
                split,
                cache_size,
                [_pem_text(key, index) for index, key in enumerate(trusted_keys)],
            )
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        trusted_keys: Iterable[TrustedKeyInput] = (),
        token: Optional[str] = None,
        timeout: float = 30.0,
        min_revision: Optional[str] = None,
        time_limit: float = DEFAULT_TIME_LIMIT,
        split: int = 1,
        cache_size: int = 0,
    ) -> Engine:
        """Fetches the control plane's bundle once (``GET /v1/bundle``; ``url`` is the control
        plane's base URL, or the bundle's URL) with the bearer ``token`` of any role, and loads it
        as :meth:`from_bundle` does, verifying its signature with ``trusted_keys``. A fetch that
        fails or times out (``timeout`` seconds) raises
        :class:`~gatehouse.errors.BundleFetchError`. With ``min_revision``, a bundle whose
        revision is lower (:func:`~gatehouse.compare_revisions`) raises
        :class:`~gatehouse.errors.BundleRollbackError` (``bundle_rollback``): pass the revision
        you ran before so a stale server cannot move you back. To follow the bundle as it
        changes, use :class:`~gatehouse.BundleWatcher`."""
        from gatehouse.remote import bundle_url, fetch_bundle, _refuse_rollback

        fetched = fetch_bundle(url, token=token, timeout=timeout)
        if fetched is None:  # only with an ETag sent, which this call never sends
            raise RuntimeError("unexpected 304 Not Modified")
        engine = cls.from_bundle(
            fetched[0],
            time_limit=time_limit,
            split=split,
            cache_size=cache_size,
            trusted_keys=trusted_keys,
        )
        if min_revision is not None:
            _refuse_rollback(bundle_url(url), engine, min_revision)
        return engine

    @property
    def bundle_name(self) -> str:
        """The manifest's name."""
        return self._native.bundle_name

    @property
    def bundle_revision(self) -> str:
        """The manifest's revision."""
        return self._native.bundle_revision

    @property
    def bundle_digest(self) -> str:
        """``sha256:<hex>`` over the bundle's manifest, policy modules and data files."""
        return self._native.bundle_digest

    @property
    def parts(self) -> int:
        """How many parts each decision is evaluated in: up to the ``split`` asked for (bundles
        whose policies read each other's rules are not split), and for a bundle of more than 32
        policy packages at least one part per 32 (run one after the other without ``split``)."""
        return self._native.parts

    def cache_stats(self) -> Optional[CacheStats]:
        """The decision cache's counters, or ``None`` when the engine has no cache."""
        stats = self._native.cache_stats()
        if stats is None:
            return None
        return CacheStats(
            hits=stats["hits"],
            misses=stats["misses"],
            evictions=stats["evictions"],
            entries=stats["entries"],
            capacity=stats["capacity"],
        )

    @property
    def policies(self) -> Mapping[str, Policy]:
        """The catalogue: policy id to metadata (``schema.valid`` included), read-only."""
        if self._policies is None:
            self._policies = MappingProxyType(
                {pid: Policy(id=pid, **meta) for pid, meta in self._native.catalog().items()}
            )
        return self._policies

    def evaluate(
        self,
        intent: IntentInput,
        *,
        now: TimeLike = None,
        history: Optional[Sequence[HistoryEntry]] = None,
        evidence: Any = None,
        approvals: Optional[Sequence[Approval]] = None,
    ) -> Decision:
        """Evaluates an intent and returns the decision.

        ``intent`` is the parsed intent (a dict) or its JSON or YAML text. ``now`` is the decision
        time: a timezone-aware ``datetime`` or RFC 3339 text; ``None`` reads the clock (UTC, to
        the second). ``history`` lists earlier deployments, ``evidence`` is pipeline evidence for
        release gates and ``approvals`` are approvals recorded outside the intent.

        An intent that breaks the schema or a policy that fails gives a ``deny`` decision, not an
        exception. Raises :class:`~gatehouse.errors.IntentError` for text that is not JSON or
        YAML, :class:`~gatehouse.errors.ContextError` for an invalid ``now``, ``history``,
        ``evidence`` or ``approvals``, and :class:`TypeError` for an intent that is neither a
        dict nor text.
        """
        context = _context(now, history, evidence, approvals)
        outcome, text = self._native.evaluate(_intent_arg(intent), context)
        return Decision._from_core(outcome, text)

    def evaluate_gates(
        self,
        intent: IntentInput,
        *,
        now: TimeLike = None,
        history: Optional[Sequence[HistoryEntry]] = None,
        evidence: Any = None,
        approvals: Optional[Sequence[Approval]] = None,
    ) -> Decision:
        """Evaluates the release gates (``gatehouse.gates.*``) of an approved intent over the
        pipeline's ``evidence``, when the pipeline reports success: ``allow`` means the deployment
        may become ``SUCCESS``; anything else makes it ``FAILED``, with the gate violations to
        record on the event. Missing evidence fails the gates that need it. Arguments and errors
        as :meth:`evaluate`."""
        context = _context(now, history, evidence, approvals)
        outcome, text = self._native.evaluate_gates(_intent_arg(intent), context)
        return Decision._from_core(outcome, text)

    def validate_intent(self, intent: IntentInput) -> List[SchemaError]:
        """The intent's schema errors, sorted by path; empty when it conforms. Raises
        :class:`~gatehouse.errors.IntentError` for text that is not JSON or YAML."""
        return [SchemaError(**e) for e in self._native.validate_intent(_intent_arg(intent))]

    def intent_schema(self) -> Dict[str, Any]:
        """The DeploymentIntent JSON Schema (draft 2020-12) this engine validates against."""
        return intent_schema()

    def __repr__(self) -> str:
        return f"<Engine {self.bundle_name} {self.bundle_revision} {self.bundle_digest}>"
