"""The HTML report in real headless Chromium: no console errors, no network, escaped names, screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_render_html import HISTORY, HOSTILE, hostile_audit

from auditor.files import write_atomic
from auditor.report.base import RenderContext
from auditor.report.html import HtmlReporter

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(__file__).parent.parent / "reports" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Chromium is needed at /usr/bin/chromium (make browser installs Debian's package)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize(("name", "width"), [("desktop", 1280), ("phone", 390)])
def test_report_in_chromium(browser, tmp_path: Path, name: str, width: int) -> None:
    page_file = write_atomic(tmp_path / "report.html", HtmlReporter().render(hostile_audit(), RenderContext(history=HISTORY)))
    page = browser.new_page(viewport={"width": width, "height": 900})
    console: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}") if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    assert console == []
    assert requests == [page_file.as_uri()]
    # The hostile node id is text in the page, and no script element exists.
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.locator("script").count() == 0
    assert page.get_by_text(HOSTILE, exact=True).count() == 1
    # Nothing overflows the viewport horizontally except inside scroll boxes.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"report-{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()
