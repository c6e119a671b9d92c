"""The workbench at /desk as its users work it, in a real headless Chromium.

One stack for the module: the session's dev server, a worker on its own task queue, the API
(serving the workbench) under uvicorn, with the demo people file and one key per person.
Complaints come in through the channel's API door; everything after that is done in the browser.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.client import Client

from complaints.api.app import create_app
from complaints.domain.people import People
from complaints.domain.policy import Policy
from complaints.domain.workdays import WorkingCalendar
from complaints.infra.settings import PROJECT_DIR, Settings
from tests.conftest import postman, sqlite_archive
from tests.devserver import free_port
from tests.integration.apihelp import intake
from tests.integration.test_visibility import reach
from tests.integration.test_web_ui import ARTIFACTS, FLAGS, chromium, until_up  # noqa: F401 - chromium is a fixture

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PEOPLE = ("h.zhang", "h.li", "m.chen", "e.wu", "a.zhou")
"""From deploy/people.demo.toml: handlers of the collection and card teams, a manager, the
emergency lead, an auditor. Each one's key is `k-<id>`."""
COLLECTION = "催收员晚上十一点多次打电话给我，还威胁要告诉我的单位。"
PDF = b"%PDF-1.4\n" + "通话录音整理：晚上十一点零五分".encode() * 50 + b"\n%%EOF"


@dataclass
class Workbench:
    url: str
    client: Client
    browser: Browser

    async def file(self, content: str = COLLECTION) -> str:
        """A complaint filed by the channel, waited for until it stands in assessment."""
        async with httpx.AsyncClient(base_url=self.url) as http:
            body = intake(uuid.uuid4().hex, subject="夜间催收电话", content=content)
            answer = await http.post("/complaints", json=body, headers={"Authorization": "Bearer k-channel"})
        complaint_id = answer.json()["complaint_id"]
        await reach(self.client.get_workflow_handle(f"complaint-{complaint_id}"), lambda s: s.stage == "assessment")
        return complaint_id

    async def signed_in(self, person: str, lang: str = "en") -> Page:
        """A browser of its own for `person` (its own cookies), signed in through the form."""
        context = await self.browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = await context.new_page()
        page.set_default_timeout(20_000)
        await page.goto(f"{self.url}/desk/signin?lang={lang}")
        await page.locator("input[name=key]").fill(f"k-{person}")
        await page.locator('form[data-action="signin"] button').click()
        await expect(page.locator("[data-who]")).to_have_text(person)
        return page


@pytest.fixture(scope="module")
async def bench(chromium: str, dev_settings: Settings, dev_client: Client,  # noqa: F811
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Workbench]:
    from worker import new_worker

    tmp = tmp_path_factory.mktemp("workbench")
    task_queue = f"desk-{uuid.uuid4().hex[:8]}"
    port = free_port()
    settings = dataclasses.replace(
        dev_settings, task_queue=task_queue, emergency_team_id=f"team-{task_queue}",
        db_url=f"sqlite:///{tmp / 'archive.db'}", evidence_dir=tmp / "evidence",
        people_file=str(PROJECT_DIR / "deploy" / "people.demo.toml"),
        api_keys=",".join(["k-channel:channel", *(f"k-{person}:{person}" for person in PEOPLE)]))
    archive = sqlite_archive(tmp)
    api = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(api.serve())
    try:
        async with new_worker(dev_client, task_queue, Policy(), WorkingCalendar(), archive, settings.emergency_team_id,
                              postman(archive), people=People.load(settings.people_file)), \
                async_playwright() as playwright:
            await until_up(f"http://127.0.0.1:{port}/healthz")
            browser = await playwright.chromium.launch(executable_path=chromium, args=FLAGS)
            expect.set_options(timeout=15_000)  # a page after a post, on a machine shared with other tests
            yield Workbench(f"http://127.0.0.1:{port}", dev_client, browser)
            await browser.close()
    finally:
        expect.set_options(timeout=None)
        api.should_exit = True
        await serving


async def reloaded_until(page: Page, selector: str, text: str, within: float = 20.0) -> None:
    """Reload until `selector` shows `text`: what a signal or the archive changes lands a moment later."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while text not in " ".join(await page.locator(selector).all_inner_texts()):
        if loop.time() > end:
            raise AssertionError(f"{selector} never showed {text!r}")
        await asyncio.sleep(0.3)
        await page.reload()


async def act(page: Page, action: str, **values: str) -> None:
    """Fill the action's form by the contract's field names and send it."""
    form = page.locator(f'form[data-action="{action}"]')
    for name, value in values.items():
        field = form.locator(f'[name="{name}"]')
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    await form.locator("button[type=submit]").click()


async def test_a_complaint_goes_from_intake_to_closed_through_the_workbench(bench: Workbench) -> None:
    page = await bench.signed_in("h.zhang", lang="zh")
    await expect(page.locator("h1")).to_have_text("我的队列")  # Chinese unless asked otherwise
    complaint_id = await bench.file()
    row = page.locator(f'tr[data-complaint-id="{complaint_id}"]')
    await expect(row).to_be_visible(timeout=30_000)  # the open page polls (5 s): it comes without a reload
    await expect(row).to_contain_text("正常")  # on time, in words
    await page.screenshot(path=str(ARTIFACTS / "workbench-queue.png"), full_page=True)
    await row.get_by_role("link").click()
    stage = page.locator("dd[data-stage]")
    await expect(stage).to_have_attribute("data-stage", "assessment")
    await expect(page.locator("[data-content]")).to_have_text(COLLECTION)  # the case file

    steps = [
        ("assess", {"category": "collection.off_hours", "severity": "normal"}, "investigation"),
        ("investigate", {"findings": "通话记录显示 23:05 的三次来电", "root_cause": "外包催收未遵守时段",
                         "substantiated": "true"}, "solution"),
        ("propose_solution", {"plan": "致歉并停止夜间联系", "remedies": "书面致歉\n暂停催收联系"}, "solution"),
        ("record_execution", {"result": "已致歉，已暂停联系"}, "feedback"),
        ("record_feedback", {"accepted": "true"}, "revisit"),
        ("record_revisit", {"reached": "true", "satisfaction": "5"}, "summary"),
        ("summarize", {"root_cause": "外包机构培训不足", "improvements": "培训外包机构\n夜间外呼拦截"}, "closed"),
    ]
    for action, values, after in steps:
        await act(page, action, **values)
        await expect(stage).to_have_attribute("data-stage", after)
    await expect(page.locator("[data-outcome]")).to_have_attribute("data-outcome", "resolved")
    await expect(page.locator('[data-deadline="summary"]')).to_contain_text("已完成")
    await expect(page.locator("form[data-action]").filter(has=page.locator("[name=handler]"))).to_have_count(0)
    await page.screenshot(path=str(ARTIFACTS / "workbench-closed.png"), full_page=True)
    status = await bench.client.get_workflow_handle(f"complaint-{complaint_id}").query("status")
    assert status["stage"] == "closed" and status["handler"] == "h.zhang"
    await page.context.close()


async def test_a_refused_action_shows_its_reason(bench: Workbench) -> None:
    """A page left open while a colleague assessed the complaint: its assessment is refused, in words."""
    complaint_id = await bench.file()
    stale = await bench.signed_in("h.zhang")
    await stale.goto(f"{bench.url}/desk/complaints/{complaint_id}")
    colleague = await bench.signed_in("h.zhang")
    await colleague.goto(f"{bench.url}/desk/complaints/{complaint_id}")
    await act(colleague, "assess", category="collection.off_hours", severity="normal")
    await expect(colleague.locator("dd[data-stage]")).to_have_attribute("data-stage", "investigation")

    await act(stale, "assess", category="collection.abusive", severity="high")
    alert = stale.get_by_role("alert")
    await expect(alert).to_contain_text("assess refused")
    await expect(alert).to_contain_text("investigation")
    await stale.screenshot(path=str(ARTIFACTS / "workbench-refused.png"), full_page=True)
    for page in (stale, colleague):
        await page.context.close()


async def test_evidence_is_uploaded_and_downloaded(bench: Workbench, tmp_path: Path) -> None:
    complaint_id = await bench.file()
    page = await bench.signed_in("h.zhang", lang="zh")
    await page.goto(f"{bench.url}/desk/complaints/{complaint_id}")
    scan = tmp_path / "通话记录.pdf"
    scan.write_bytes(PDF)
    form = page.locator('form[data-action="evidence"]')
    await form.locator("input[name=files]").set_input_files(str(scan))
    await form.locator("button[type=submit]").click()
    link = page.locator("ul.evidence a", has_text="通话记录.pdf")
    await expect(link).to_be_visible()
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert download.suggested_filename == "通话记录.pdf"
    assert Path(await download.path()).read_bytes() == PDF
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(ARTIFACTS / "workbench-evidence.png"))
    await page.context.close()


async def test_a_handler_of_another_team_sees_the_row_but_not_the_case_file(bench: Workbench) -> None:
    """Assigned at assessment to the collection team's handler, the complaint is in the card team's
    handler's list of all open complaints, not in their queue, and its case file is theirs only once
    it is escalated."""
    complaint_id = await bench.file()
    other = await bench.signed_in("h.li")
    row = f'tr[data-complaint-id="{complaint_id}"]'
    await other.goto(f"{bench.url}/desk?scope=all")
    await expect(other.locator(row)).to_contain_text("h.zhang")  # listed, and held by the collection team
    await other.goto(f"{bench.url}/desk")
    await expect(other.locator("table.queue")).to_be_visible()
    await expect(other.locator(row)).to_have_count(0)  # not in the card team's queue
    await other.goto(f"{bench.url}/desk?scope=all")
    await other.locator(row).get_by_role("link").click()
    await expect(other.locator("[data-no-case-file]")).to_contain_text("another team")
    await expect(other.locator("[data-content]")).to_have_count(0)
    async with httpx.AsyncClient(base_url=bench.url) as http:  # nor through the API
        answer = await http.get(f"/complaints/{complaint_id}/case", headers={"Authorization": "Bearer k-h.li"})
    assert answer.status_code == 403 and "another team" in answer.json()["detail"]
    await other.screenshot(path=str(ARTIFACTS / "workbench-other-team.png"), full_page=True)

    manager = await bench.signed_in("m.chen")
    await manager.goto(f"{bench.url}/desk/complaints/{complaint_id}")
    await act(manager, "escalate", reason="Threats reported by the complainant")
    await reloaded_until(other, "section.case-file", COLLECTION)
    for page in (manager, other):
        await page.context.close()


async def test_the_manager_assigns_approves_an_extension_and_escalates_and_the_emergency_team_acknowledges(
        bench: Workbench) -> None:
    complaint_id = await bench.file()
    manager = await bench.signed_in("m.chen")
    await manager.goto(f"{bench.url}/desk/complaints/{complaint_id}")
    await act(manager, "assign", handler="h.li")
    await expect(manager.locator("section.summary")).to_contain_text("h.li")
    await act(manager, "extend", reason="Waiting for the collection agency's call records", days="10")
    await expect(manager.locator('[data-deadline="decision"]')).to_contain_text("extended")
    await act(manager, "escalate", reason="Threats reported by the complainant")
    await reloaded_until(manager, '[data-event="escalation"]', "m.chen")

    lead = await bench.signed_in("e.wu")
    await lead.goto(f"{bench.url}/desk/emergency")
    await reloaded_until(lead, "table.board", complaint_id)
    row = lead.locator(f'tr[data-complaint-id="{complaint_id}"]')
    await row.locator('form[data-action="acknowledge"] button').click()
    await expect(lead.locator(f'tr[data-complaint-id="{complaint_id}"]')).to_contain_text("e.wu")
    await lead.screenshot(path=str(ARTIFACTS / "workbench-emergency-board.png"), full_page=True)

    auditor = await bench.signed_in("a.zhou")
    await auditor.goto(f"{bench.url}/desk/complaints/{complaint_id}")
    await expect(auditor.locator("[data-content]")).to_have_text(COLLECTION)
    await expect(auditor.locator("form[data-action]:not([data-action=signout])")).to_have_count(0)  # read-only
    for page in (manager, lead, auditor):
        await page.context.close()


TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


async def signed_in_http(http: httpx.AsyncClient, person: str) -> str:
    """Sign `http` in as `person` the way the form does; returns the session's CSRF token."""
    token = TOKEN.search((await http.get("/desk/signin")).text).group(1)
    assert (await http.post("/desk/signin", data={"key": f"k-{person}", "csrf": token})).status_code == 303
    return TOKEN.search((await http.get("/desk")).text).group(1)


async def test_a_form_without_its_csrf_token_is_refused_and_the_session_cookie_is_guarded(bench: Workbench) -> None:
    async with httpx.AsyncClient(base_url=bench.url) as http:
        signin = await http.get("/desk/signin")
        cookie = signin.headers["set-cookie"]
        assert all(flag in cookie for flag in ("HttpOnly", "SameSite=strict", "Max-Age=28800")), cookie
        assert (await http.post("/desk/signin", data={"key": "k-h.zhang"})).status_code == 403
        token = TOKEN.search(signin.text).group(1)
        assert (await http.post("/desk/signin", data={"key": "k-h.zhang", "csrf": token})).status_code == 303
        page = await http.get("/desk")
        assert page.status_code == 200 and "k-h.zhang" not in http.cookies["complaints_desk"]
        assert TOKEN.search(page.text).group(1) != token  # signing in gave the session a new token

        refused = await http.post("/desk/complaints/ANY/act/withdraw", data={"handler": "h.zhang", "reason": "x"})
        assert refused.status_code == 403 and 'role="alert"' in refused.text
        forged = await http.post("/desk/complaints/ANY/act/withdraw", data={"csrf": token, "reason": "x"})
        assert forged.status_code == 403  # the token from before signing in no longer counts

        assert (await http.post("/desk/signout", data={"csrf": TOKEN.search(page.text).group(1)})).status_code == 303
        assert (await http.get("/desk")).headers["location"] == "/desk/signin"


async def test_each_role_reaches_only_its_pages(bench: Workbench) -> None:
    complaint_id = await bench.file()
    allowed = {"h.zhang": {"emergency": 403, "breaches": 403}, "m.chen": {"emergency": 200, "breaches": 200},
               "e.wu": {"emergency": 200, "breaches": 403}, "a.zhou": {"emergency": 403, "breaches": 403}}
    for person, pages in allowed.items():
        async with httpx.AsyncClient(base_url=bench.url) as http:
            token = await signed_in_http(http, person)
            assert {page: (await http.get(f"/desk/{page}")).status_code for page in pages} == pages, person
            withdraw = await http.post(f"/desk/complaints/{complaint_id}/act/withdraw",
                                       data={"csrf": token, "handler": person, "reason": "test"})
            assert withdraw.status_code == (403 if person != "h.zhang" else 303), person
            if person == "h.zhang":  # a field that is not what the action takes: named, in words
                bad = await http.post(f"/desk/complaints/{complaint_id}/act/withdraw", data={"csrf": token})
                assert bad.status_code == 422 and re.search(r'role="alert">[^<]*reason', bad.text), bad.text
    async with httpx.AsyncClient(base_url=bench.url) as http:
        await signed_in_http(http, "m.chen")
        assert "今天没有超时" in (await http.get("/desk/breaches")).text  # Chinese by default
        assert "No breaches today" in (await http.get("/desk/breaches?lang=en")).text
        assert "No breaches today" in (await http.get("/desk/breaches")).text  # the switch is remembered
