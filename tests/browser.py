"""Open an HTML file in headless Debian Chromium: screenshot and console errors.

Uses the pip `playwright` driver with `executable_path=/usr/bin/chromium` (never `playwright
install`: no browser download). The page is opened offline: any request that is not a `file:` or
`data:` URL is aborted and reported as a console error, so a report cannot depend on the network.

    result = open_page(path)              # skips the test when Chromium or playwright is absent
    result.screenshot                     # PNG path (full page)
    result.console_errors                 # console errors, page errors and blocked requests
    result.page                           # only inside `with browser_page(path) as result:`
"""

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@dataclass
class PageResult:
    screenshot: Path
    console_errors: list[str] = field(default_factory=list)
    title: str = ""
    text: str = ""
    page: object = None  # the live playwright Page, inside browser_page() only


def _require_browser():
    if not CHROMIUM.exists():
        pytest.skip(f"headless browser tests need {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("headless browser tests need the `playwright` package (pip install playwright)")
    return sync_playwright


@contextmanager
def browser_page(path: Path, *, screenshot: Path | None = None, width: int = 1280):
    """Open `path`, take a full-page screenshot, yield a PageResult with the live page."""
    sync_playwright = _require_browser()
    path = Path(path).resolve()
    shot = Path(screenshot) if screenshot else path.with_suffix(".png")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": width, "height": 900},
            )
            try:
                page = context.new_page()
                page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

                def offline(route):
                    if route.request.url.startswith(("file:", "data:")):
                        route.continue_()
                    else:
                        errors.append(f"blocked network request: {route.request.url}")
                        route.abort()

                page.route("**/*", offline)
                page.goto(path.as_uri(), wait_until="load")
                page.screenshot(path=str(shot), full_page=True)
                yield PageResult(shot, errors, page.title(), page.inner_text("body"), page)
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_page(path: Path, *, screenshot: Path | None = None, width: int = 1280) -> PageResult:
    """Open `path` in headless Chromium; the PageResult outlives the browser (no `page`)."""
    with browser_page(path, screenshot=screenshot, width=width) as result:
        return PageResult(result.screenshot, list(result.console_errors), result.title, result.text)
