"""What a manager sees in the Temporal Web UI, checked in a real headless Chromium.

The time-skipping server keeps no user metadata, so this runs its own dev server with the
UI on, decoding through the API's codec endpoint as a manager's would, a worker and two
complaints, and reads the pages the way a person would. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from complaints.api.app import create_app
from complaints.domain.policy import Policy
from complaints.domain.workdays import WorkingCalendar
from complaints.infra.settings import Settings
from complaints.infra.temporal import connect
from complaints.intake import file_complaint
from tests.conftest import TEST_KEY, binary, sqlite_archive
from tests.devserver import DevServer, free_port
from tests.integration.test_visibility import intake, reach

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]  # a first run may install chromium

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


def ensure_chromium() -> str | None:
    """Debian's chromium, installed if missing; returns why it cannot be had, or None.

    The suite's two processes may both find it missing on a fresh machine: the install is held
    under a file lock, so the second waits for the first instead of failing on dpkg's lock."""
    with open(Path(tempfile.gettempdir()) / "complaintflow-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return None if os.path.exists(CHROMIUM) else install_chromium()


def install_chromium() -> str | None:
    """apt-get install chromium, refreshing the package lists once if that fails."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "no /usr/bin/chromium, and apt-get as root is not available to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    try:
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=360)
        if done.returncode != 0:  # stale or missing package lists: refresh them once and retry
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=180)
            done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as slow:
        return f"chromium could not be installed: {' '.join(slow.cmd)} took over {slow.timeout:.0f} s"
    if done.returncode != 0 or not os.path.exists(CHROMIUM):
        return f"chromium could not be installed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


@dataclass
class WebUI:
    url: str
    task_queue: str
    watched: str  # workflow id of the complaint in investigation
    other: str  # workflow id of one still in assessment
    run_id: str
    browser: Browser


async def until_up(url: str, within: float = 60.0) -> None:
    """Wait for an HTTP server that has just been started (bounded)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(url, timeout=2)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if loop.time() > end:
                raise RuntimeError(f"{url} did not answer within {within:.0f} s")
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
def chromium() -> str:
    reason = ensure_chromium()
    if reason:  # the workbench and the Web UI must be seen in a browser: missing one is a failure
        pytest.fail(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
async def web_ui(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WebUI]:
    """Dev server with its UI, decoding through the API's codec endpoint with a manager's key,
    a worker, and two complaints: one moved to investigation, one left in assessment."""
    from worker import new_worker

    tmp = tmp_path_factory.mktemp("webui")
    ui_port, api_port, key = free_port(), free_port(), "manager-key-for-the-ui"
    server = DevServer(f"127.0.0.1:{free_port()}", ui_port, tmp / "temporal.db")
    server.start(binary("temporal"), ui=True, codec_endpoint=f"http://127.0.0.1:{api_port}/codec/k/{key}")
    settings = Settings(temporal_address=server.address, codec_keys=TEST_KEY, api_keys=f"{key}:manager",
                        ui_port=ui_port, db_url=f"sqlite:///{tmp / 'archive.db'}")
    api = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=api_port, log_level="warning"))
    serving = asyncio.create_task(api.serve())
    try:
        await until_up(f"http://127.0.0.1:{ui_port}/")
        client = await connect(settings)
        archive = sqlite_archive(tmp)
        task_queue = f"webui-{uuid.uuid4().hex[:8]}"
        async with new_worker(client, task_queue, Policy(), WorkingCalendar(), archive, f"team-{task_queue}"), \
                async_playwright() as playwright:
            watched = await file_complaint(client, task_queue, intake("phone", "They called me at midnight on a holiday"),
                                           archive)
            other = await file_complaint(client, task_queue, intake("sms", "the collector was rude"), archive)
            handle = client.get_workflow_handle(watched.workflow_id)
            for filed in (watched, other):
                await reach(client.get_workflow_handle(filed.workflow_id), lambda s: s.stage == "assessment")
            await handle.execute_update("assess", {"handler": "handler-3", "category": "collection.off_hours",
                                                   "severity": "normal"})
            run_id = (await handle.describe()).run_id
            await until_listed(client, f'ComplaintStage="investigation" AND TaskQueue="{task_queue}"',
                               watched.workflow_id)
            browser = await playwright.chromium.launch(executable_path=chromium, args=FLAGS)
            expect.set_options(timeout=15_000)  # the UI's first page loads its app, on a machine shared with other tests
            yield WebUI(f"http://127.0.0.1:{ui_port}", task_queue, watched.workflow_id, other.workflow_id, run_id,
                        browser)
            await browser.close()
    finally:
        expect.set_options(timeout=None)
        api.should_exit = True
        await serving
        server.stop()


async def until_listed(client, query: str, workflow_id: str, within: float = 30.0) -> None:
    """Wait for visibility to list the workflow under `query`: the UI loads its list once, so a
    page opened before the upsert reached visibility would show nothing on a busy machine."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while workflow_id not in {w.id async for w in client.list_workflows(query)}:
        if loop.time() > end:
            raise AssertionError(f"{workflow_id} not listed by {query} within {within:.0f} s")
        await asyncio.sleep(0.2)


async def new_page(ui: WebUI, width: int = 1600) -> Page:
    page = await ui.browser.new_page(viewport={"width": width, "height": 1000})
    page.set_default_timeout(20_000)
    return page


async def test_filtered_list_shows_the_complaint_and_its_attributes(web_ui: WebUI) -> None:
    """The saved view ComplaintStage="investigation" lists the complaint, not the one in assessment;
    the search-attribute columns a manager adds show its stage, category, severity and channel."""
    query = f'ComplaintStage="investigation" AND TaskQueue="{web_ui.task_queue}"'
    page = await new_page(web_ui, width=1900)
    await page.goto(f"{web_ui.url}/namespaces/default/workflows?query={quote(query)}")
    row = page.locator("tr", has_text=web_ui.watched)
    await expect(row).to_be_visible()
    await expect(page.get_by_text("1 Workflow", exact=True)).to_be_visible()
    await expect(page.get_by_text(web_ui.other)).to_have_count(0)

    await page.get_by_test_id("workflows-summary-table-configuration-button").click()
    for column in ("ComplaintStage", "ComplaintCategory", "ComplaintSeverity", "ComplaintChannel",
                   "ComplaintNextDeadline"):
        await page.get_by_test_id(f"orderable-list-item-{column}-add-button").click()
    for column in ("Run ID", "Type", "End"):  # room for the columns that matter to a manager
        await page.get_by_role("button", name=f"Remove {column} column").click()
    await page.locator("[role=dialog], aside").filter(has_text="Configure Workflows Table") \
        .get_by_role("button", name="Close").first.click()
    await expect(page.get_by_text("Configure Workflows Table")).to_be_hidden()
    for shown in ("investigation", "collection.off_hours", "normal", "phone"):
        await expect(row.get_by_text(shown, exact=True)).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "web-ui-list.png"), full_page=True)
    await page.close()


async def test_complaint_page_shows_summary_and_current_details(web_ui: WebUI) -> None:
    """User Metadata: the one-line summary, and the current stage, next deadline and holder."""
    page = await new_page(web_ui)
    await page.goto(f"{web_ui.url}/namespaces/default/workflows/{web_ui.watched}/{web_ui.run_id}/history")
    await page.get_by_role("tab", name="User Metadata").click()
    summary, current = await metadata_panels(page, "collection.off_hours · normal · phone", "Held by:")
    assert summary == "collection.off_hours · normal · phone"
    assert "Stage: investigation" in current
    assert re.search(r"Next deadline: investigation at \d{4}-\d\d-\d\dT\d\d:\d\d\+08:00", current)
    assert "Held by: handler-3" in current
    assert re.search(r"assessment: [-\dT:+]+, met ", current)  # the deadline list
    await page.screenshot(path=str(ARTIFACTS / "web-ui-user-metadata.png"), full_page=True)
    await page.close()


async def metadata_panels(page: Page, summary: str, current: str, within: float = 20.0) -> tuple[str, str]:
    """The texts of the Summary and Current Details panels: the UI renders each in an iframe
    (Summary, Details, Current Details), current details only once its query has answered."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    texts: list[str] = []
    while loop.time() < end:
        frames = page.frame_locator("iframe")
        texts = [(await frames.nth(i).locator("body").inner_text(timeout=2_000)).strip()
                 for i in range(await page.locator("iframe").count())]
        if len(texts) == 3 and summary in texts[0] and current in texts[2]:
            return texts[0], texts[2]
        await asyncio.sleep(0.3)
    raise AssertionError(f"User Metadata panels never showed {summary!r} and {current!r}: {texts}")


async def test_timeline_names_the_timers_and_steps(web_ui: WebUI) -> None:
    """The Timeline reads as the process: named deadline timers, not bare ids. (This complaint's
    steps, fixing its deadlines and archive writes, are local activities: Event History markers,
    named in their summaries, which tests/integration/test_visibility.py reads.)"""
    page = await new_page(web_ui)
    await page.goto(f"{web_ui.url}/namespaces/default/workflows/{web_ui.watched}/{web_ui.run_id}/history")
    await page.get_by_role("tab", name="Timeline").click()  # as a person does: with UI 2.54.1 a direct
    # /timeline load showed the timers by number only, without their decoded summaries
    for name in ("assessment warning", "investigation warning"):
        await expect(page.get_by_text(name, exact=True).first).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "web-ui-timeline.png"), full_page=True)
    await page.close()
