"""The API's own pages as a person opens them: /docs renders every operation in a real headless
Chromium, and nothing is fetched from another host (complaint desks often run offline).

The pages need neither Temporal nor a worker: the app runs against a closed port, as it does
while Temporal is still starting.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.routing import APIRoute
from playwright.async_api import Browser, async_playwright, expect
from starlette.routing import Route

from complaints.api.app import create_app
from complaints.infra.settings import Settings
from tests.conftest import TEST_KEY
from tests.devserver import free_port
from tests.integration.test_web_ui import ARTIFACTS, FLAGS, chromium, until_up  # noqa: F401 - chromium is a fixture

EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]?((?:https?:)?//[^'"\s)>]+)""", re.IGNORECASE)
"""An absolute or scheme-relative address in a page's markup: a script, style, font or icon from elsewhere."""


def settings_for(tmp: Path) -> Settings:
    return Settings(temporal_address=f"127.0.0.1:{free_port()}", codec_keys=TEST_KEY,
                    db_url=f"sqlite:///{tmp / 'archive.db'}", api_keys="k-handler:handler")


@pytest.fixture(scope="module")
async def api_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    port = free_port()
    app = create_app(settings_for(tmp_path_factory.mktemp("docs")))
    api = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(api.serve())
    try:
        await until_up(f"http://127.0.0.1:{port}/openapi.json")
        yield f"http://127.0.0.1:{port}"
    finally:
        api.should_exit = True
        await serving


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        await launched.close()


@pytest.mark.browser
async def test_swagger_ui_renders_every_operation_offline(browser: Browser, api_url: str) -> None:
    async with httpx.AsyncClient() as http:
        schema = (await http.get(f"{api_url}/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    operations = [op for path in schema["paths"].values() for op in path.values()]
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(20_000)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    await page.goto(f"{api_url}/docs", wait_until="networkidle")
    shown = page.locator(".opblock-summary-path")
    await expect(shown.filter(has_text="/emergency/cases").first).to_be_visible()
    await expect(shown).to_have_count(len(operations))
    await expect(page.get_by_text("Unable to render this definition")).to_have_count(0)
    await page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    assert [url for url in asked if not url.startswith(f"{api_url}/")] == []
    await page.close()


async def test_no_page_of_the_api_names_another_host(tmp_path: Path) -> None:
    """Every page the API serves without a path parameter, and every asset it loads, is local.
    Redoc is not served: its bundle fetches its logo from the vendor's CDN."""
    app = create_app(settings_for(tmp_path))
    pages = [r.path for r in app.routes
             if isinstance(r, (Route, APIRoute)) and "GET" in (r.methods or ()) and "{" not in r.path]
    assert "/docs" in pages and "/redoc" not in pages
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        for path in pages:
            answer = await http.get(path)
            if not answer.headers.get("content-type", "").startswith("text/html"):
                continue
            assert EXTERNAL.findall(answer.text) == [], path
            for asset in re.findall(r"""(?:src|href)=["']?(/[^'"\s>]+)""", answer.text):
                assert (await http.get(asset)).status_code == 200, f"{path} loads {asset}"
