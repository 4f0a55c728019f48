"""Gatehouse: policy-as-code for deployments, in-process.

Load a governance bundle once, then evaluate deployment intents against it::

    from gatehouse import Engine

    engine = Engine.from_directory("policies")
    decision = engine.evaluate(intent)          # a dict, or JSON / YAML text
    if not decision.allowed:
        for violation in decision.blocking:
            print(violation.policy, violation.path, violation.message)
    stored = decision.to_json()                 # the contract's bytes, as the CLI prints them

Decisions are the same, byte for byte, as the CLI's and every other front end's for the same
intent, bundle and context. See :mod:`gatehouse.lifecycle` for the hash-chained deployment events
and :mod:`gatehouse.fastapi` for the FastAPI integration.
"""

from gatehouse.decision import (
    ApprovalRecord,
    ApprovalSource,
    BundleInfo,
    Decision,
    Enforcement,
    ErrorRecord,
    Outcome,
    Policy,
    PolicyStage,
    SchemaError,
    Severity,
    Span,
    Truncated,
    Violation,
    ViolationStatus,
)
from gatehouse.engine import (
    DEFAULT_MANIFEST,
    DEFAULT_TIME_LIMIT,
    MAX_CACHE_SIZE,
    MAX_INTENT_BYTES,
    MAX_SPLIT,
    Approval,
    CacheStats,
    Engine,
    HistoryEntry,
    IntentInput,
    intent_schema,
)
from gatehouse.errors import (
    BundleError,
    BundleFetchError,
    BundleRollbackError,
    BundleSignatureError,
    ChainError,
    ContextError,
    ErrorDict,
    GatehouseError,
    IllegalTransitionError,
    IntentError,
    InternalError,
    LifecycleError,
    SettingError,
)
from gatehouse.lifecycle import (
    DeploymentStatus,
    Event,
    EventType,
    State,
    next_state,
    replay,
    start_deployment,
    verify_chain,
)
from gatehouse.remote import BundleWatcher, WatcherStatus, compare_revisions

__all__ = [
    "DEFAULT_MANIFEST",
    "DEFAULT_TIME_LIMIT",
    "MAX_CACHE_SIZE",
    "MAX_INTENT_BYTES",
    "MAX_SPLIT",
    "Approval",
    "ApprovalRecord",
    "ApprovalSource",
    "BundleError",
    "BundleFetchError",
    "BundleRollbackError",
    "BundleInfo",
    "BundleSignatureError",
    "BundleWatcher",
    "CacheStats",
    "ChainError",
    "ContextError",
    "Decision",
    "DeploymentStatus",
    "Enforcement",
    "Engine",
    "ErrorDict",
    "ErrorRecord",
    "Event",
    "EventType",
    "GatehouseError",
    "HistoryEntry",
    "IllegalTransitionError",
    "IntentError",
    "IntentInput",
    "InternalError",
    "LifecycleError",
    "Outcome",
    "Policy",
    "PolicyStage",
    "SchemaError",
    "SettingError",
    "Severity",
    "Span",
    "State",
    "Truncated",
    "Violation",
    "ViolationStatus",
    "WatcherStatus",
    "compare_revisions",
    "intent_schema",
    "next_state",
    "replay",
    "start_deployment",
    "verify_chain",
]
