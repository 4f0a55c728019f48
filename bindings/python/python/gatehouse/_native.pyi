"""The native core (Rust). Use the typed wrappers in :mod:`gatehouse` instead."""

from typing import Any, Dict, List, Optional, Tuple, Union, final

__all__ = [
    "MAX_CACHE_SIZE",
    "MAX_INTENT_BYTES",
    "MAX_SPLIT",
    "PROBLEM_TYPE_BASE",
    "SCHEMA_POLICY",
    "STATES",
    "TERMINAL_STATES",
    "Engine",
    "append_event",
    "compare_revisions",
    "decision_schema",
    "intent_schema",
    "next_state",
    "replay",
    "start_deployment",
    "verify_chain",
]

MAX_SPLIT: int
MAX_CACHE_SIZE: int
MAX_INTENT_BYTES: int
STATES: Tuple[str, ...]
TERMINAL_STATES: Tuple[str, ...]
SCHEMA_POLICY: str
PROBLEM_TYPE_BASE: str

@final
class Engine:
    @staticmethod
    def from_directory(
        path: str,
        overlay: Dict[str, str],
        time_limit: object,
        split: object,
        cache_size: object,
        trusted_keys: List[str],
    ) -> Engine: ...
    @staticmethod
    def from_files(
        files: Dict[str, str], time_limit: object, split: object, cache_size: object
    ) -> Engine: ...
    @staticmethod
    def from_bundle(
        document: str,
        time_limit: object,
        split: object,
        cache_size: object,
        trusted_keys: List[str],
    ) -> Engine: ...
    @property
    def parts(self) -> int: ...
    def cache_stats(self) -> Optional[Dict[str, int]]: ...
    @property
    def bundle_name(self) -> str: ...
    @property
    def bundle_revision(self) -> str: ...
    @property
    def bundle_digest(self) -> str: ...
    def catalog(self) -> Dict[str, Dict[str, Any]]: ...
    def evaluate(
        self, intent: Union[str, Dict[str, Any]], context: Dict[str, Any]
    ) -> Tuple[str, str]: ...
    def evaluate_gates(
        self, intent: Union[str, Dict[str, Any]], context: Dict[str, Any]
    ) -> Tuple[str, str]: ...
    def validate_intent(self, intent: Union[str, Dict[str, Any]]) -> List[Dict[str, Any]]: ...

def intent_schema() -> Dict[str, Any]: ...
def decision_schema() -> Dict[str, Any]: ...
def compare_revisions(a: str, b: str) -> int: ...
def start_deployment(
    deployment_id: str, at: str, actor: str, data: Any
) -> Tuple[Dict[str, Any], Dict[str, Any]]: ...
def append_event(
    status: Dict[str, Any], event_type: str, at: str, actor: str, data: Any
) -> Tuple[Dict[str, Any], Dict[str, Any]]: ...
def replay(events: List[Dict[str, Any]]) -> Dict[str, Any]: ...
def verify_chain(events: List[Dict[str, Any]]) -> None: ...
def next_state(state: Optional[str], event_type: str) -> str: ...
