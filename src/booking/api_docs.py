"""/docs (Swagger UI) and /redoc (ReDoc), working offline: their assets come from an installed
package, never a CDN, and the pages are FastAPI's own, pointed at them.

The assets are fastapi-offline's (pinned in pyproject.toml; it ships swagger-ui-bundle.js,
swagger-ui.css and redoc.standalone.js), mounted at /docs/assets. The pages are built once, so
their inline init scripts are fixed and the Content-Security-Policy allows exactly those by
hash instead of 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

from booking.security import docs_policy

ASSETS_PATH = "/docs/assets"
FAVICON_PATH = "/favicon.ico"
FAVICON = files("booking.web") / "static" / "favicon.svg"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def install_api_docs(app: FastAPI) -> str:
    """Add /docs, /docs/oauth2-redirect, /redoc, their assets and /favicon.ico to an app made
    with ``docs_url=None, redoc_url=None``; return the CSP the docs pages need."""
    assert app.openapi_url is not None
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    pages = {
        "/docs": get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=oauth2_redirect_url,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=FAVICON_PATH,
            # No badge fetched from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        ),
        oauth2_redirect_url: get_swagger_ui_oauth2_redirect_html(),
        "/redoc": get_redoc_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=FAVICON_PATH,
            with_google_fonts=False,
        ),
    }
    scripts: list[str] = []
    for path, page in pages.items():
        body = bytes(page.body)
        scripts += INLINE_SCRIPT.findall(body.decode())

        async def serve_page(body: bytes = body) -> HTMLResponse:
            return HTMLResponse(body)

        app.add_api_route(path, serve_page, methods=["GET"], include_in_schema=False)

    async def favicon() -> Response:
        return Response(FAVICON.read_bytes(), media_type="image/svg+xml")

    app.add_api_route(FAVICON_PATH, favicon, methods=["GET"], include_in_schema=False)
    app.mount(
        ASSETS_PATH, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets"
    )
    return docs_policy(script_hash(script) for script in scripts)
