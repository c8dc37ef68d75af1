"""The tear sheet in a real browser: headless Chromium opens the file from disk, offline, and
every chart draws without a console error; a screenshot is kept in tests/artifacts/.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make test`` installs them) and selenium.
Without Chromium the test is skipped, unless ``RISKBOOK_REQUIRE_BROWSER`` is set (as the
Makefile does), in which case it fails.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from riskbook.report import tear_sheet

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


def _require_browser() -> None:
    required = bool(os.environ.get("RISKBOOK_REQUIRE_BROWSER"))
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    reason = (
        f"{', '.join(missing)} not installed (Debian: apt-get install chromium chromium-driver)"
    )
    if required:
        pytest.fail(f"RISKBOOK_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def opened(browser, book_run, tmp_path_factory):
    """The full report, opened from disk and drawn."""
    from selenium.webdriver.support.ui import WebDriverWait

    path = tear_sheet(
        book_run.result,
        tmp_path_factory.mktemp("browser") / "report.html",
        title="riskbook demo book, 2018-2020",
        **book_run.inputs(),
    )
    browser.get(path.as_uri())
    WebDriverWait(browser, 90, poll_frequency=0.2).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-rb-rendered')")
    )
    logs = browser.get_log("browser")
    return browser, logs


def test_no_console_error_and_nothing_fetched(opened):
    driver, logs = opened
    severe = [entry for entry in logs if entry["level"] == "SEVERE"]
    assert severe == []
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources == []  # plotly.js and all data are inline: not one request


def test_every_chart_drew(opened):
    driver, _ = opened
    charts = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('.rb-chart')).map(function (c) {
          var svg = c.querySelector('svg.main-svg, canvas');
          var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
          var marks = c.querySelectorAll(
            '.scatterlayer .trace path.js-line, .scatterlayer .trace path.js-fill, ' +
            '.barlayer .point path');
          var drawn = Array.from(marks).filter(function (p) {
            var d = p.getAttribute('d'); return d && d.length > 10;
          }).length;
          return {id: c.id, width: box.width, height: box.height, drawn: drawn,
                  traces: (c.data || []).length};
        });
        """
    )
    rendered = driver.execute_script("return document.body.getAttribute('data-rb-rendered')")
    assert int(rendered) == len(charts) == 10
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 150, chart
        assert chart["traces"] > 0 and chart["drawn"] > 0, chart


def test_log_toggle_switches_the_equity_axis(opened):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver, _ = opened
    axis = "return document.getElementById('rb-chart-equity')._fullLayout.yaxis.type"
    assert driver.execute_script(axis) == "linear"
    buttons = driver.find_elements(By.CSS_SELECTOR, "#rb-chart-equity g.updatemenu-button")
    assert [b.text for b in buttons] == ["Linear", "Log"]
    # the page scrolls smoothly: jump instead, so the button stays where the click lands
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", buttons[1]
    )
    for button, wanted in ((buttons[1], "log"), (buttons[0], "linear")):
        ActionChains(driver).move_to_element(button).click().perform()
        deadline = time.monotonic() + 10
        while driver.execute_script(axis) != wanted and time.monotonic() < deadline:
            time.sleep(0.1)
        assert driver.execute_script(axis) == wanted
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


def test_screenshot(opened):
    driver, _ = opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 200, 16_000))
    driver.execute_script("return new Promise(r => requestAnimationFrame(() => r()))")
    time.sleep(0.5)  # let the responsive charts settle at the new width
    out = ARTIFACTS / "tear_sheet.png"
    assert driver.save_screenshot(str(out))
    assert out.stat().st_size > 50_000
