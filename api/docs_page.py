"""/api/docs: the interactive OpenAPI page, served whole from this server.

FastAPI's default page loads Swagger UI from a CDN, so on a machine without internet it was a
blank page. Swagger UI 5's files (OpenAPI 3.1, as FastAPI writes) come from the `swagger-ui-py`
package instead (Apache-2.0; only its static folder is used, the package is never imported) and
are served under /api/docs/assets; nothing on the page is fetched from elsewhere.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"
OPENAPI_PATH = "/api/openapi.json"


def assets_folder() -> Path:
    """Swagger UI's static files inside the installed swagger-ui-py package."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: run `make setup` (requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install(app: FastAPI) -> None:
    """Add the docs page and its static files to ``app`` (created with docs_url=None)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_folder()), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_PATH, title=f"{app.title} - docs",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url="data:,", oauth2_redirect_url=None)
