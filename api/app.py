"""create_app: the FastAPI application with its routes, guards and error handlers.

One JobManager per application runs the runs started through it, in this process, through the
same sandbox as the app's runs; it is shut down (its runs cancelled) when the server stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import (docs_page, errors, routes_backtests, routes_cli, routes_data, routes_robustness,
                 routes_strategies, routes_studies, routes_system)
from api.context import AppContext
from api.guards import BodyLimit, TokenCheck
from core import bootstrap
from core.runs import endpoint
from core.runs.jobs import JobManager
from core.settings import Settings
from core.studies.background import StudyRunner

DESCRIPTION = """REST API of PineOpt, over the same services as the web app and the `pineopt`
command line. Errors are JSON `{error, detail, field, line}`; `detail` says what is wrong and how
to fix it. When the server has `PINEOPT_API_TOKEN`, send `Authorization: Bearer <token>`
(everything except `/api/health` and these docs needs it)."""


def create_app(settings: Settings, *, token: str = "",
               owner: endpoint.Endpoint | None = None, jobs: JobManager | None = None) -> FastAPI:
    """The application for ``settings`` (store initialised here); ``token`` '' = no auth.
    ``owner``: the endpoint file this server published (api.server); its token is accepted and
    the file is removed when the server stops (uvicorn then re-raises SIGTERM, so this is the
    last code that surely runs). ``jobs``: the process's JobManager when the API shares it
    with the app's pages (api.owner); by default the API makes its own."""
    bootstrap.init_store(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = AppContext(settings=settings, jobs=JobManager(settings) if jobs is None else jobs,
                         studies=StudyRunner(settings), token=token)
        app.state.pineopt = ctx
        try:
            yield
        finally:
            if owner is not None:
                endpoint.withdraw(settings.home, owner)
            ctx.studies.shutdown()
            ctx.jobs.shutdown()

    app = FastAPI(title="PineOpt API", version="1", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=docs_page.OPENAPI_PATH,
                  dependencies=[Depends(TokenCheck(token))])
    app.state.owner_token = "" if owner is None else owner.token
    errors.install(app)
    docs_page.install(app)
    for module in (routes_system, routes_strategies, routes_backtests, routes_data,
                   routes_studies, routes_robustness, routes_cli):
        app.include_router(module.router)
    app.add_middleware(BodyLimit)
    return app
