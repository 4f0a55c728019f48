"""Times given to the core: RFC 3339 text in, the clock read only when the caller gives no time."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional, Union

TimeLike = Union[datetime, str, None]
"""A timezone-aware :class:`~datetime.datetime`, RFC 3339 text, or ``None`` for the current
time."""


def rfc3339(value: Optional[TimeLike]) -> str:
    """RFC 3339 text for ``value``; ``None`` is the current UTC time to the second (as the CLI's
    default ``--now``). A naive ``datetime`` gives text without an offset, which the core refuses:
    times are never guessed to be local or UTC."""
    if value is None:
        return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(
        f"a time must be a datetime, RFC 3339 text or None, not {type(value).__name__}"
    )
