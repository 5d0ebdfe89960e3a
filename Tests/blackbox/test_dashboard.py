"""The dashboard in a real headless Chromium against the built hub: login by
link and by form, live values over the stream, presence, logout, and a clean
console. Devices are driven over WebSocket with the `websockets` client."""
import json
import socket
import threading
import time
from contextlib import contextmanager

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from websockets.sync.client import connect

from conftest import ARTIFACTS

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = ARTIFACTS / "screenshots"
COOKIE = "telehub_session"
# Generous: the machine may be busy compiling. The one latency the dashboard
# promises (a live value within 2 s) is checked with its own deadline.
WAIT = 15


# MARK: - Fixtures and helpers

@pytest.fixture
def browser(request):
    """A fresh headless Chromium (empty cookie jar) with the browser console captured."""
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--lang=en-US"):
        options.add_argument(argument)
    # Number formatting follows the browser locale; pin it so "20.5" reads the same everywhere.
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    try:
        screenshot(driver, f"{request.node.name}-end.png")
    finally:
        driver.quit()


def screenshot(driver, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / name))


def wait_for(driver, condition, message, timeout=WAIT):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d), message)


def visible(driver, css):
    elements = driver.find_elements(By.CSS_SELECTOR, css)
    return elements[0] if elements and elements[0].is_displayed() else None


def text_of(driver, css):
    element = visible(driver, css)
    return element.text if element else None


def card(name):
    return f'article.device-card[data-device="{name}"]'


def metric(device, name):
    return f'{card(device)} .metric-value[data-metric="{name}"]'


def wait_live(driver):
    wait_for(driver, lambda d: text_of(d, "#connection-state") == "live", "connection indicator never said 'live'")


def log_in_by_link(driver, hub):
    driver.get(f"{hub.url}/?token={hub.read_token()}")
    wait_live(driver)


@contextmanager
def device(hub, name):
    """A device session over WebSocket, past the hello."""
    token = hub.device_token(name)
    with connect(hub.ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello" and hello["device"] == name, hello
        yield ws


def send_reading(ws, seq, metrics):
    """Sends one reading and returns once the hub acknowledged it (committed)."""
    ws.send(json.dumps({"type": "reading", "seq": seq, "metrics": metrics}))
    while True:
        reply = json.loads(ws.recv(timeout=10))
        assert reply["type"] != "error", reply
        if reply["type"] == "ack" and reply["seq"] >= seq:
            return


class DroppingProxy:
    """A TCP relay in front of the hub that can cut every connection and
    refuse new ones for a while: a network outage the browser must ride out."""

    def __init__(self, port):
        self.upstream = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open = threading.Event()
        self.open.set()
        self.sockets = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        """Closes every relayed connection; new ones are refused until `restore`."""
        self.open.clear()
        with self.lock:
            for sock in self.sockets:
                shut(sock)
                sock.close()
            self.sockets.clear()

    def restore(self):
        self.open.set()

    def close(self):
        self.cut()
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            shut(source)
            shut(target)


def shut(sock):
    """shutdown(), unlike close(), also wakes a thread blocked in recv() on the socket."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# MARK: - Tests

def test_login_link_sets_httponly_cookie_and_leaves_no_token_in_url(hub, browser):
    token = hub.read_token()
    browser.get(f"{hub.url}/?token={token}")

    wait_live(browser)
    assert token not in browser.current_url
    assert browser.current_url.rstrip("/") == hub.url
    cookies = {cookie["name"]: cookie for cookie in browser.get_cookies()}
    assert COOKIE in cookies, cookies
    assert cookies[COOKIE]["httpOnly"] is True
    assert cookies[COOKIE].get("sameSite") == "Strict"
    assert visible(browser, "#logout") and text_of(browser, "h1") == "Telehub"
    assert not visible(browser, "#login-form")
    # The cookie must be out of reach of page scripts.
    assert COOKIE not in browser.execute_script("return document.cookie")


def test_token_form_when_logged_out(hub, browser):
    # A refused link lands on `/?login=failed`: the form says so, and the query goes away.
    browser.get(f"{hub.url}/?token=thr_not-a-real-token")
    wait_for(browser, lambda d: visible(d, "#login-form"), "no login form after a refused token")
    assert "not accepted" in text_of(browser, "#login-message")
    wait_for(browser, lambda d: "login=failed" not in d.current_url, "?login=failed stayed in the URL")

    browser.get(f"{hub.url}/")
    wait_for(browser, lambda d: visible(d, "#login-form"), "no login form when logged out")
    assert not visible(browser, "#logout")
    browser.find_element(By.ID, "token-input").send_keys(hub.read_token())
    browser.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()

    wait_live(browser)
    assert not visible(browser, "#login-form")
    assert any(cookie["name"] == COOKIE and cookie["httpOnly"] for cookie in browser.get_cookies())


def test_wrong_token_in_form_shows_message(hub, browser):
    browser.get(f"{hub.url}/")
    wait_for(browser, lambda d: visible(d, "#login-form"), "no login form when logged out")
    browser.find_element(By.ID, "token-input").send_keys("thr_wrong")
    browser.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait_for(browser, lambda d: "not accepted" in (text_of(d, "#login-message") or ""), "no refusal message")
    assert visible(browser, "#login-form")


def test_live_value_updates_without_reload(hub, browser):
    log_in_by_link(browser, hub)
    with device(hub, "sensor-1") as ws:
        send_reading(ws, 1, {"temperature": 20.5})
        wait_for(browser, lambda d: text_of(d, metric("sensor-1", "temperature")) == "20.5",
                 "card never showed 20.5")
        assert text_of(browser, f"{card('sensor-1')} .badge") == "online"
        browser.execute_script("window.__sameDocument = true")

        started = time.monotonic()
        send_reading(ws, 2, {"temperature": 23.25})
        remaining = max(0.1, 2.0 - (time.monotonic() - started))
        wait_for(browser, lambda d: text_of(d, metric("sensor-1", "temperature")) == "23.25",
                 "23.25 not shown within 2 s of sending", timeout=remaining)
        assert browser.execute_script("return window.__sameDocument === true"), "the page reloaded"
        assert "last seen" in text_of(browser, f"{card('sensor-1')} .last-seen")

        save_overview_screenshots(browser)


def save_overview_screenshots(driver):
    screenshot(driver, "overview.png")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    screenshot(driver, "overview-dark.png")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    driver.set_window_size(390, 844)
    screenshot(driver, "phone.png")


def test_presence_counts_and_logout(hub, browser):
    log_in_by_link(browser, hub)
    with device(hub, "b-node") as b, device(hub, "a-node") as a:
        send_reading(a, 1, {"humidity": 40})
        send_reading(b, 1, {"humidity": 41})
        wait_for(browser, lambda d: text_of(d, "#count-online") == "2", "two devices never counted online")
        names = [e.get_attribute("data-device") for e in browser.find_elements(By.CSS_SELECTOR, "article.device-card")]
        assert names == ["a-node", "b-node"], "cards are not sorted by name"
    wait_for(browser, lambda d: text_of(d, f"{card('a-node')} .badge") == "offline", "badge never flipped to offline")
    wait_for(browser, lambda d: text_of(d, "#count-offline") == "2", "offline count never reached 2")

    browser.find_element(By.ID, "logout").click()
    wait_for(browser, lambda d: visible(d, "#login-form"), "logout did not show the login form")
    assert not any(cookie["name"] == COOKIE for cookie in browser.get_cookies())
    browser.refresh()
    wait_for(browser, lambda d: visible(d, "#login-form"), "still logged in after logout and reload")


def test_no_console_errors(hub, browser):
    log_in_by_link(browser, hub)
    with device(hub, "quiet-1") as ws:
        send_reading(ws, 1, {"temperature": 19.75, "door": True})
        wait_for(browser, lambda d: text_of(d, metric("quiet-1", "door")) == "1", "door metric never shown")
    wait_for(browser, lambda d: text_of(d, f"{card('quiet-1')} .badge") == "offline", "badge never flipped")
    # Let the "last seen" ticker run a few times.
    wait_for(browser, lambda d: "s ago" in (text_of(d, f"{card('quiet-1')} .last-seen") or ""), "no ticking age")

    entries = browser.get_log("browser")
    assert not [entry for entry in entries if entry["level"] == "SEVERE"], entries


def test_stream_resumes_after_outage_without_gap(hub, browser):
    """Readings committed while the browser was cut off arrive on resume, with
    no "missed updates" notice; a presence change in the gap (not replayed by
    the stream) is picked up too."""
    proxy = DroppingProxy(hub.port)
    try:
        browser.get(f"{proxy.url}/?token={hub.read_token()}")
        wait_live(browser)
        with device(hub, "flaky-1") as ws:
            send_reading(ws, 1, {"level": 1})
            wait_for(browser, lambda d: text_of(d, metric("flaky-1", "level")) == "1", "first value not shown")
            proxy.cut()
            wait_for(browser, lambda d: text_of(d, "#connection-state") != "live", "outage not noticed")
            send_reading(ws, 2, {"level": 2})
        proxy.restore()
        wait_live(browser)
        wait_for(browser, lambda d: text_of(d, metric("flaky-1", "level")) == "2", "reading from the gap not replayed")
        wait_for(browser, lambda d: text_of(d, f"{card('flaky-1')} .badge") == "offline", "presence not refreshed")
        assert not visible(browser, "#notice"), text_of(browser, "#notice")
    finally:
        proxy.close()
