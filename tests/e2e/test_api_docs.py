"""/api/docs works offline: Swagger UI's files come from this server, and the page lists the
API's operations in Chromium while every request to another host is refused."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, Route

from tests.integration.test_api import TOKEN, Server, _start, _stop


@pytest.fixture
def api_server(template_home: Path, tmp_path: Path) -> Iterator[Server]:
    shutil.copytree(template_home, tmp_path / "home")
    running = _start(tmp_path / "home", tmp_path / "server.log", TOKEN)
    yield running
    _stop(running)


def test_docs_page_draws_every_operation_without_the_internet(api_server: Server,
                                                              page: Page) -> None:
    elsewhere: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        if url.startswith("data:") or urlparse(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(api_server.url + "/api/docs")
    page.locator(".opblock").first.wait_for(timeout=60_000)
    with api_server.client(token=None) as anonymous:  # the docs need no token
        spec = anonymous.get("/api/openapi.json").json()
        asset = anonymous.get("/api/docs/assets/swagger-ui-bundle.js")
    # Swagger UI draws an operation once under each of its tags
    operations = sum(len(op.get("tags") or ["default"])
                     for ops in spec["paths"].values() for op in ops.values())
    assert page.locator(".opblock").count() == operations
    assert page.get_by_text("PineOpt API").first.is_visible()
    assert elsewhere == []
    assert asset.status_code == 200 and len(asset.content) > 100_000
