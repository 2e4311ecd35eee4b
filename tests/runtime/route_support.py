"""Routes for runtime tests that only need an operation to reach its integration."""

from __future__ import annotations

from aiohttp import web
from gatewright import runtime as gw

__all__ = ["invoking_route"]


async def _invoke(request: web.Request, integration: gw.Integration) -> web.StreamResponse:
    return await integration.invoke(request, None)


def invoking_route(operation_id: str, integration: gw.IntegrationSpec) -> gw.Route:
    """``GET /<operation_id>``, whose handler calls ``integration`` and nothing else."""
    return gw.Route(
        operation_id=operation_id,
        method="GET",
        path=f"/{operation_id}",
        segments=(("static", operation_id),),
        handler=_invoke,
        integration=integration,
    )
