"""The exceptions Gatehouse raises.

Every one is a :class:`GatehouseError`, itself a :class:`ValueError`, and carries the structured
error records of the decision contract, ``{code, message, help?, policy?, path?, span?}``, through
:meth:`GatehouseError.errors`. Catch the subclass for the step that failed:

- :class:`BundleError`: the bundle does not load (missing directory, unreadable file, Rego that
  does not parse or compile, a policy package without ``deny``, an invalid catalogue, exemption or
  data file). No engine is built, so nothing can be allowed.
  Its subclass :class:`BundleSignatureError`: trusted keys were given and the bundle's signature
  does not hold (unsigned, an unknown key, a bad signature, a file changed, added or removed
  after signing). Its subclass :class:`BundleFetchError`: the bundle could not be fetched from
  the control plane (network, time-out, an HTTP error status). Its subclass
  :class:`BundleRollbackError`: the control plane served a bundle older than the one running
  (or another bundle under the same revision), which is refused.
- :class:`IntentError`: intent text that is not JSON or YAML, or is too large. An intent that
  parses but breaks the schema is not an error: its decision is ``deny`` with ``schema.valid``
  violations.
- :class:`ContextError`: ``now``, ``history``, ``evidence`` or ``approvals`` do not match their
  format.
- :class:`SettingError`: an engine setting (``split``, ``cache_size``, ``time_limit``) out of its
  range; the record's ``path`` names the setting.
- :class:`InternalError`: a bug in Gatehouse itself (never your input): report it.
- :class:`LifecycleError`: lifecycle records (events, statuses, state and event type names, event
  times) that do not match their format; its subclasses :class:`ChainError` (a broken hash chain)
  and :class:`IllegalTransitionError` (an event the deployment's state does not accept).
"""

from __future__ import annotations

import copy
from typing import List, Sequence, Tuple, Type, TypedDict

__all__ = [
    "BundleError",
    "BundleFetchError",
    "BundleRollbackError",
    "BundleSignatureError",
    "ChainError",
    "ContextError",
    "ErrorDict",
    "GatehouseError",
    "IllegalTransitionError",
    "IntentError",
    "InternalError",
    "LifecycleError",
    "SettingError",
    "SpanDict",
]


class SpanDict(TypedDict):
    """A source position: ``file`` (bundle path, or empty for intent text), 1-based ``line`` and
    ``column``."""

    file: str
    line: int
    column: int


class _ErrorDictRequired(TypedDict):
    code: str
    message: str


class ErrorDict(_ErrorDictRequired, total=False):
    """One error record of the decision contract: a stable ``code``, a ``message`` for people, and
    where known a ``help`` text, the ``policy`` id, the field ``path`` and the source ``span``."""

    help: str
    policy: str
    path: str
    span: SpanDict


class GatehouseError(ValueError):
    """Base class of every Gatehouse error.

    ``str(error)`` is the message; :meth:`errors` gives the structured records and :attr:`code`
    the first record's code.
    """

    def __init__(self, message: str, errors: Sequence[ErrorDict] = ()) -> None:
        super().__init__(message)
        self.message = message
        self._errors: List[ErrorDict] = [copy.deepcopy(e) for e in errors]

    def errors(self) -> List[ErrorDict]:
        """The error records (a fresh copy), in the contract's JSON shape."""
        return copy.deepcopy(self._errors)

    @property
    def code(self) -> str:
        """The first record's stable code (e.g. ``rego_parse``), or ``""`` when there is none."""
        return self._errors[0]["code"] if self._errors else ""

    def __reduce__(self) -> Tuple[Type[GatehouseError], Tuple[str, List[ErrorDict]]]:
        return (type(self), (self.message, self._errors))


class BundleError(GatehouseError):
    """The bundle does not load, so there is no engine and nothing can be allowed."""


class BundleSignatureError(BundleError):
    """Trusted keys were given and the bundle's signature does not hold, so it is refused:
    ``bundle_unsigned`` (no ``bundle.sig.json``), ``bundle_signature_unknown_key`` (signed by no
    trusted key), ``bundle_signature_invalid`` (the signed statement was changed),
    ``bundle_file_changed``, ``bundle_file_added``, ``bundle_file_removed`` (a file differs from
    what was signed), ``bundle_signature_mismatch``, ``bundle_signature_malformed`` or
    ``bundle_signature_payload_type``. The record's ``span`` names the file: the bundle file, or
    ``bundle.sig.json``."""


class BundleFetchError(BundleError):
    """The packed bundle could not be fetched from the control plane (``bundle_fetch_failed``):
    the connection failed or timed out, the answer was an HTTP error (the record's ``path`` is
    the URL; the message names the status and the server's problem text), or it was larger than
    :data:`~gatehouse.remote.MAX_DOCUMENT_BYTES`."""


class BundleRollbackError(BundleError):
    """The control plane served a bundle that would move the running one back, so it is refused
    and the running engine stays: ``bundle_rollback`` (its revision is lower than the running
    one's, or than ``min_revision``, by :func:`~gatehouse.compare_revisions`) or
    ``bundle_revision_reused`` (the same revision with another digest: a bundle altered or
    rebuilt under a revision already in use). A stale or compromised server, or a replayed
    answer, serves such a bundle even when it is validly signed. The message names both
    revisions; the record's ``path`` is the URL."""


class IntentError(GatehouseError):
    """An intent that cannot be read: text that is not JSON or YAML (``intent_syntax``) or is too
    large (``intent_too_large``), or a dict holding a value JSON cannot (``intent_value``: NaN,
    an integer beyond 64 bits, a lone surrogate, a ``datetime``) or nested too deep or cyclic
    (``intent_too_deep``)."""


class ContextError(GatehouseError):
    """``now``, ``history``, ``evidence`` or ``approvals`` do not match their format
    (``context_invalid``)."""


class SettingError(GatehouseError):
    """An engine setting out of its range (``setting_invalid``): ``split`` (1 to
    :data:`~gatehouse.MAX_SPLIT`), ``cache_size`` (0 to :data:`~gatehouse.MAX_CACHE_SIZE`) or
    ``time_limit`` (a positive, finite number of seconds)."""


class InternalError(GatehouseError):
    """A bug in Gatehouse (``internal``), not in the input: please report it with the call."""


class LifecycleError(GatehouseError):
    """A lifecycle record that does not match its format (``event_invalid``, ``status_invalid``,
    ``timestamp_invalid``); base of :class:`ChainError` and :class:`IllegalTransitionError`."""


class ChainError(LifecycleError):
    """A broken hash chain (``chain_empty``, ``chain_sequence``, ``chain_deployment``,
    ``chain_prev_hash``, ``chain_hash``, ``chain_time``): stored events were changed, dropped in
    the middle or reordered."""


class IllegalTransitionError(LifecycleError):
    """An event that the deployment's state does not accept (``illegal_transition``)."""
