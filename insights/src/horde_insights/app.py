"""The ASGI application: the route table of routes.py on Starlette, JSON replies for unknown paths."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .context import Service
from .handlers import not_found_body
from .http import SECURITY_HEADERS, json_bytes
from .routes import ROUTES

__all__ = ["create_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    """404 and 405 from the router, in the API's error shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        body = not_found_body(request.method, request.url.path)
    else:
        message = f"method {request.method[:16]} not allowed on {request.url.path[:200]}"
        body = json_bytes({"error": {"code": status, "message": message}})
    headers = dict(SECURITY_HEADERS)
    if isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)
    return Response(body, status_code=status, media_type="application/json; charset=utf-8", headers=headers)


def create_app(service: Service) -> Starlette:
    """The service's ASGI app; handlers reach ``service`` as ``request.app.state.service``."""
    app = Starlette(routes=ROUTES, exception_handlers={HTTPException: _http_error})
    app.state.service = service
    return app
