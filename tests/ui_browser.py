"""Driving Debian's headless Chromium (chromium + chromium-driver) with Selenium for the web UI
tests: a driver fixture with the browser's performance log on, and `UI`, a few steps that wait on
conditions (WebDriverWait), never on time.
"""
import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 30


@pytest.fixture
def browser(tmp_path):
    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_bin, "scripts/setup.sh installs chromium and chromium-driver"
    opts = Options()
    opts.binary_location = chromium
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1280,1000", "--no-first-run", "--no-default-browser-check",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
    yield driver
    driver.quit()


class UI:
    """One browser on one node's UI; screenshots go to `shots`, numbered in order."""

    def __init__(self, driver, base: str, shots: Path):
        self.d = driver
        self.base = base
        self.shots = shots
        self.shots.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.requests = []

    def wait(self, condition, what: str):
        # The app redraws a page by replacing its elements: an element found a moment ago may be
        # gone, which only means "not yet".
        ignored = (NoSuchElementException, StaleElementReferenceException)
        return WebDriverWait(self.d, WAIT, ignored_exceptions=ignored).until(condition, message=f"waiting for {what}")

    def open(self, route: str = ""):
        self.d.get(f"{self.base}/ui/#/{route}")

    def heading(self, text: str):
        self.wait(lambda d: d.find_element(By.TAG_NAME, "h1").text == text, f"heading {text!r}")

    def el(self, element_id: str):
        return self.wait(EC.visibility_of_element_located((By.ID, element_id)), f"#{element_id}")

    def fill(self, element_id: str, value: str):
        field = self.el(element_id)
        field.clear()
        field.send_keys(value)
        return field

    def choose(self, element_id: str, value: str):
        Select(self.el(element_id)).select_by_value(value)

    def click(self, text: str):
        xpath = f"//*[self::button or self::a][normalize-space()='{text}']"
        self.wait(EC.element_to_be_clickable((By.XPATH, xpath)), f"button {text!r}").click()

    def assert_labelled(self):
        """Every form control on the page has a label (or an aria-label) a screen reader reads."""
        unlabelled = self.d.execute_script(
            "return [...document.querySelectorAll('input, select, textarea')]"
            ".filter(e => e.type !== 'hidden' && !e.labels.length && !e.getAttribute('aria-label'))"
            ".map(e => e.id || e.name)")
        assert not unlabelled, f"controls without a label: {unlabelled}"

    def errors(self) -> list:
        box = self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, ".errors")), "an error box")
        return [li.text for li in box.find_elements(By.TAG_NAME, "li")]

    def text(self) -> str:
        return self.d.find_element(By.TAG_NAME, "main").text

    def wait_text(self, text: str):
        self.wait(lambda d: text in d.find_element(By.TAG_NAME, "main").text, f"text {text!r}")

    def shot(self, name: str):
        self.count += 1
        self.d.save_screenshot(str(self.shots / f"{self.count:02d}-{name}.png"))

    def collect_requests(self):
        """Every URL a page of the UI asked for (from the browser's own performance log: requests
        whose document is under this node's /ui/; the browser's own new-tab page is not ours)."""
        for entry in self.d.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] != "Network.requestWillBeSent":
                continue
            params = message["params"]
            if params.get("documentURL", "").startswith(f"{self.base}/ui/"):
                self.requests.append(params["request"]["url"])
        return self.requests

    def assert_only_own_origin(self):
        own = urlparse(self.base)
        urls = self.collect_requests()
        assert any("/v1/" in u for u in urls) and any(u.endswith("/ui/app.js") for u in urls), urls
        foreign = [u for u in urls if not u.startswith("data:")
                   and (urlparse(u).scheme, urlparse(u).netloc) != (own.scheme, own.netloc)]
        assert not foreign, f"the UI reached beyond {self.base}: {foreign}"


__all__ = ["UI", "browser", "By", "Keys", "WAIT"]
