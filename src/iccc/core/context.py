"""Per-request context (request id, acting user) that services read when writing audit rows.

A contextvar rather than a thread-local so the same code is correct under ASGI.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ip: str = ""
    user_agent: str = ""
    channel: str = "system"


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("iccc_request", default=None)


def current() -> RequestContext:
    ctx = _current.get()
    return ctx if ctx is not None else RequestContext()


@contextmanager
def bind(**kwargs: Any) -> Iterator[RequestContext]:
    ctx = RequestContext(**kwargs)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
