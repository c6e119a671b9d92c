"""The Web UI decodes a complaint through the API's codec endpoint, as `make run` sets it up:
the dev server's `--ui-codec-endpoint` names `/codec/k/<key>`, the browser calls it
cross-origin, and the complainant's name shows in the workflow's Input."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from tests.integration.test_visibility import NAME
from tests.integration.test_web_ui import WebUI, chromium, new_page, web_ui  # noqa: F401 - the UI stack

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


async def test_the_ui_shows_the_complaint_decoded_through_the_codec_endpoint(web_ui: WebUI) -> None:  # noqa: F811
    page = await new_page(web_ui)
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "/codec/k/" in r.url else None)
    await page.goto(f"{web_ui.url}/namespaces/default/workflows/{web_ui.watched}/{web_ui.run_id}/history")
    await expect(page.get_by_text(f'"name": {json.dumps(NAME)}').first).to_be_attached(timeout=30_000)
    await page.close()
    assert 200 in answers and set(answers) <= {200, 204}  # the browser's own calls (and preflights), CORS and all
