"""Registry API: search and read people and cases within the caller's scope."""

from ninja import Router

router = Router(tags=["registry"])
