"""The dashboard in a real headless Chromium against the built hub: login by
link and by form, live values over the stream, presence, logout, the
overview's filter, order and sparklines, the device page's charts (checked
against the history endpoint), ranges, zoom and live table, a hub restart,
and a clean console. Devices are driven over WebSocket with the `websockets`
client."""
import json
import time
from contextlib import contextmanager

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from websockets.sync.client import connect

from conftest import ARTIFACTS, batch, bearer, now_ms, open_device
from tcp_proxy import TcpProxy

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
    # The dashboard re-renders live lists in place, so an element found a moment ago may be gone by the
    # time it is read; that is "not yet", and the condition is asked again.
    waiter = WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,))
    return waiter.until(lambda d: condition(d), message)


def fresh(read, attempts=20):
    """Reads the page, again if a live re-render replaced the element between finding and reading it."""
    for _ in range(attempts - 1):
        try:
            return read()
        except StaleElementReferenceException:
            time.sleep(0.02)
    return read()


def visible(driver, css):
    def read():
        elements = driver.find_elements(By.CSS_SELECTOR, css)
        return elements[0] if elements and elements[0].is_displayed() else None
    return fresh(read)


def text_of(driver, css):
    def read():
        element = visible(driver, css)
        return element.text if element else None
    return fresh(read)


def attribute_of(driver, css, name):
    return fresh(lambda: driver.find_element(By.CSS_SELECTOR, css).get_attribute(name))


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
    """A device connection over WebSocket, past the hello."""
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
    proxy = TcpProxy(hub.port).start()
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
        proxy.stop()


# MARK: - Overview: presence, filter, sparklines

def test_disconnected_device_shown_offline_within_seconds(hub, browser):
    log_in_by_link(browser, hub)
    with device(hub, "leaving-1") as ws:
        send_reading(ws, 1, {"level": 3})
        wait_for(browser, lambda d: text_of(d, f"{card('leaving-1')} .badge") == "online", "never shown online")
        assert text_of(browser, "#count-online") == "1"
    # The hub reports a closed session within a second; the page may take a little longer.
    wait_for(browser, lambda d: text_of(d, f"{card('leaving-1')} .badge") == "offline",
             "not shown offline within 3 s of disconnecting", timeout=3)
    wait_for(browser, lambda d: text_of(d, "#count-offline") == "1", "offline count not updated", timeout=3)


def test_overview_filter_sort_and_sparklines(hub, browser):
    start = now_ms() - 50 * MINUTE_MS
    store_history(hub, "alpha-1", {"temperature": [(start + i * 60_000, 20 + (i % 7) * 0.5) for i in range(50)]})
    store_history(hub, "alpha-2", {"humidity": [(start + i * 120_000, 40 + i % 5) for i in range(25)]})
    store_history(hub, "beta-1", {"power_w": [(now_ms() - 1000, 1234.5)]})
    log_in_by_link(browser, hub)
    with device(hub, "zeta-online") as ws:
        send_reading(ws, 1, {"level": 0.00042})
        wait_for(browser, lambda d: text_of(d, "#count-online") == "1" and text_of(d, "#count-offline") == "3",
                 "counts never read 1 online, 3 offline")
        # Online first, then by name.
        assert card_names(browser) == ["zeta-online", "alpha-1", "alpha-2", "beta-1"]
        # Small values keep their digits; large ones are grouped in the browser's locale.
        assert text_of(browser, metric("zeta-online", "level")) == "0.00042"
        assert text_of(browser, metric("beta-1", "power_w")) == "1,234.5"

        # A sparkline from the history endpoint: one point per minute of the last hour.
        line = f"{card('alpha-1')} svg.sparkline"
        wait_for(browser, lambda d: int(d.find_element(By.CSS_SELECTOR, line).get_attribute("data-points") or 0) >= 45,
                 "no sparkline with the last hour's points")
        coords = browser.find_element(By.CSS_SELECTOR, f"{line} polyline").get_attribute("points").split()
        assert len(coords) >= 45 and len({c.split(",")[1] for c in coords}) > 1, coords

        # The filter box narrows the cards by name, case-insensitively.
        box = browser.find_element(By.ID, "device-filter")
        box.send_keys("ALPHA")
        wait_for(browser, lambda d: visible_cards(d) == ["alpha-1", "alpha-2"], "filter 'ALPHA' did not narrow to alpha-*")
        assert "2 of 4" in text_of(browser, "#filter-status")
        box.send_keys("-2")
        wait_for(browser, lambda d: visible_cards(d) == ["alpha-2"], "filter 'ALPHA-2' did not narrow to one card")
        box.clear()
        box.send_keys("nothing-like-this")
        wait_for(browser, lambda d: visible(d, "#no-match"), "no 'no device matches' message")
        assert visible_cards(browser) == []
        box.send_keys(Keys.ESCAPE)
        wait_for(browser, lambda d: len(visible_cards(d)) == 4, "Escape did not clear the filter")

        # Cards are links to the device page, reachable with the keyboard.
        link = browser.find_element(By.CSS_SELECTOR, f"{card('alpha-1')} a.device-link")
        assert link.get_attribute("href").endswith("#/device/alpha-1")
        save_overview_screenshots(browser)


def save_overview_screenshots(driver):
    driver.execute_script("document.activeElement.blur()")
    screenshot(driver, "overview.png")
    light = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    wait_for(driver, lambda d: d.execute_script("return getComputedStyle(document.body).backgroundColor") != light,
             "dark mode did not change the page colours")
    screenshot(driver, "overview-dark.png")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    driver.set_window_size(390, 844)
    wait_for(driver, lambda d: d.execute_script("return window.innerWidth") <= 400, "window did not shrink")
    # Usable at phone width: nothing wider than the screen.
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(driver, "phone.png")
    driver.set_window_size(1280, 900)


# MARK: - Device page

def test_device_page_charts_ranges_zoom_and_live_table(hub_factory, browser):
    hub = hub_factory("--rate-limit", "0").start()
    reader = hub.read_token()
    end = now_ms() - 1000
    # Two hours, a reading every 2 s: more points than a chart is wide, so the hub answers in buckets.
    # Some jitter, so that the min–max band around the average shows in the screenshot.
    series = [(end - i * 2000, 20 + (i % 300) / 10 + (i * 7919 % 13) / 4) for i in range(3600)]
    token = hub.device_token("lab-1")
    with open_device(hub, token) as session:
        seq = send_batches(session, 1, [{"ts": ts, "metrics": {"temperature": v, "humidity": 50 - v / 2}}
                                        for ts, v in sorted(series)])
        log_in_by_link(browser, hub)
        browser.get(f"{hub.url}/#/device/lab-1")
        wait_for(browser, lambda d: text_of(d, "#device-title") == "lab-1", "device page did not open")
        assert text_of(browser, "#device-badge") == "online"

        # A dygraphs chart per metric, drawn from as many points as the endpoint returns for that range.
        temperature = chart_ready(browser, "temperature", "1h")
        chart_ready(browser, "humidity", "1h")
        assert browser.find_elements(By.CSS_SELECTOR, f"{chart_css('temperature')} canvas"), "no canvas in the chart"
        answer = assert_points_match(browser, hub, reader, "lab-1", "temperature")
        assert answer["step"] > 0 and temperature.get_attribute("data-step") == str(answer["step"])
        assert 0 < len(answer["points"]) <= int(temperature.get_attribute("data-max-points"))
        assert "1h" not in browser.current_url  # the default range needs no parameter
        screenshot(browser, "device.png")

        # 1 h → 24 h reloads every chart, and the range is kept in the address.
        browser.find_element(By.CSS_SELECTOR, '.range-presets [data-range="24h"]').click()
        chart_ready(browser, "temperature", "24h")
        assert_points_match(browser, hub, reader, "lab-1", "temperature")
        assert_points_match(browser, hub, reader, "lab-1", "humidity")
        assert browser.current_url.endswith("#/device/lab-1?range=24h")
        assert browser.find_element(By.CSS_SELECTOR, '[data-range="24h"]').get_attribute("aria-pressed") == "true"
        coarse_step = int(temperature.get_attribute("data-step"))

        # Zooming (a drag across the chart) reloads just that span, at a finer resolution.
        drag_across(browser, "temperature", 0.80, 0.95)
        zoomed = chart_ready(browser, "temperature", "custom")
        answer = assert_points_match(browser, hub, reader, "lab-1", "temperature")
        assert int(zoomed.get_attribute("data-to")) - int(zoomed.get_attribute("data-from")) < 12 * HOUR_MS
        assert answer["step"] < coarse_step
        assert "from=" in browser.current_url
        assert visible(browser, "#range-from").get_attribute("value")
        # A double-click undoes the zoom: back to the live 24 h range.
        ActionChains(browser).double_click(zoomed).perform()
        chart_ready(browser, "temperature", "24h")
        assert browser.current_url.endswith("#/device/lab-1?range=24h")

        # Back to a live range; the CSV link covers it.
        browser.find_element(By.CSS_SELECTOR, '.range-presets [data-range="15m"]').click()
        chart_ready(browser, "temperature", "15m")
        assert_points_match(browser, hub, reader, "lab-1", "temperature")
        href = browser.find_element(By.ID, "csv-link").get_attribute("href")
        assert "export.csv?device=lab-1" in href and "from=" in href and "to=" in href
        # The link works with the page's session cookie, as a click would use it.
        fetched = browser.execute_async_script(
            "fetch(arguments[0]).then(async r => arguments[1]([r.status, await r.text()]))", href)
        assert fetched[0] == 200 and fetched[1].startswith("device,metric,ts,time,value"), fetched[1][:200]
        assert "\nlab-1,temperature," in fetched[1] and "\nlab-1,humidity," in fetched[1]

        # A live reading: at the top of the latest-readings table, and appended to the chart.
        before = int(temperature.get_attribute("data-live-points"))
        session.expect_ack({"type": "reading", "seq": seq, "metrics": {"temperature": 42.125}})
        top = "#readings-table tbody tr:first-child .value-cell"
        wait_for(browser, lambda d: (e := visible(d, top)) and e.get_attribute("data-value") == "42.125",
                 "live value not at the top of the latest readings")
        assert text_of(browser, top) == "42.13"
        wait_for(browser, lambda d: int(temperature.get_attribute("data-live-points")) > before,
                 "live value not appended to the chart")

    # Back to the overview with the back link; the card keeps the keyboard focus.
    browser.find_element(By.ID, "back-link").click()
    wait_for(browser, lambda d: visible(d, card("lab-1")), "back link did not show the overview")
    assert browser.switch_to.active_element.get_attribute("href").endswith("#/device/lab-1")


def test_device_page_without_dygraphs_says_what_to_install(hub_factory, browser, tmp_path):
    empty = tmp_path / "no-vendor"
    empty.mkdir()
    hub = hub_factory("--vendor-js", str(empty)).start()
    with device(hub, "plain-1") as ws:
        send_reading(ws, 1, {"temperature": 21.5})
        log_in_by_link(browser, hub)
        browser.get(f"{hub.url}/#/device/plain-1")
        wait_for(browser, lambda d: visible(d, "#charts-unavailable"), "no notice about the missing chart library")
        assert "sudo apt install libjs-dygraphs" in text_of(browser, "#charts-unavailable")
        # Everything else still works.
        send_reading(ws, 2, {"temperature": 22.75})
        wait_for(browser, lambda d: text_of(d, "#readings-table tbody tr:first-child .value-cell") == "22.75",
                 "latest readings not updated without charts")
        assert "export.csv?device=plain-1" in browser.find_element(By.ID, "csv-link").get_attribute("href")


# MARK: - Robustness

def test_keeps_updating_after_hub_restart(hub, browser):
    log_in_by_link(browser, hub)
    with device(hub, "survivor-1") as ws:
        send_reading(ws, 1, {"temperature": 10.5})
        wait_for(browser, lambda d: text_of(d, metric("survivor-1", "temperature")) == "10.5", "first value not shown")
    browser.execute_script("window.__sameDocument = true")

    hub.restart()
    with device(hub, "survivor-1") as ws:
        send_reading(ws, 2, {"temperature": 11.25})
        wait_for(browser, lambda d: text_of(d, metric("survivor-1", "temperature")) == "11.25",
                 "value sent after the restart never shown")
    wait_live(browser)
    assert browser.execute_script("return window.__sameDocument === true"), "the page reloaded"


def test_no_console_errors_across_both_pages(hub, browser):
    start = now_ms() - 30 * MINUTE_MS
    store_history(hub, "calm-1", {"temperature": [(start + i * 30_000, 18 + i % 4) for i in range(60)],
                                  "door": [(start + i * 30_000, i % 2) for i in range(60)]})
    log_in_by_link(browser, hub)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{card('calm-1')} svg.sparkline polyline"),
             "no sparkline")
    browser.find_element(By.CSS_SELECTOR, f"{card('calm-1')} a.device-link").click()
    chart_ready(browser, "temperature", "1h")
    chart_ready(browser, "door", "1h")
    for key in ("24h", "7d", "30d", "15m"):
        browser.find_element(By.CSS_SELECTOR, f'.range-presets [data-range="{key}"]').click()
        chart_ready(browser, "temperature", key)
    # Hovering a chart shows a read-out (and must not trip the Content-Security-Policy).
    ActionChains(browser).move_to_element(browser.find_element(By.CSS_SELECTOR, chart_css("temperature"))).perform()
    browser.back()
    wait_for(browser, lambda d: visible(d, card("calm-1")), "Back did not return to the overview")
    wait_for(browser, lambda d: "s ago" in (text_of(d, f"{card('calm-1')} .last-seen") or "")
             or "min ago" in (text_of(d, f"{card('calm-1')} .last-seen") or ""), "no ticking age")

    entries = browser.get_log("browser")
    assert not [entry for entry in entries if entry["level"] == "SEVERE"], entries


# MARK: - Helpers for the tests above

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS


def store_history(hub, name, metrics):
    """Stores past points ({metric: [(ts, value)]}) for a device through a WebSocket session, then leaves."""
    readings = [{"ts": ts, "metrics": {m: v}} for m, points in metrics.items() for ts, v in points]
    with open_device(hub, hub.device_token(name)) as session:
        send_batches(session, 1, readings)


def send_batches(session, seq, readings):
    """Sends readings in batches of 1000, each acknowledged; returns the next free seq."""
    for first in range(0, len(readings), 1000):
        session.expect_ack(batch(seq, readings[first:first + 1000]), timeout=30)
        seq += 1
    return seq


def card_names(driver):
    return [e.get_attribute("data-device") for e in driver.find_elements(By.CSS_SELECTOR, "article.device-card")]


def visible_cards(driver):
    return [e.get_attribute("data-device") for e in driver.find_elements(By.CSS_SELECTOR, "article.device-card")
            if e.is_displayed()]


def chart_css(metric_name):
    return f'#charts .chart[data-metric="{metric_name}"]'


def chart_ready(driver, metric_name, range_key):
    """Waits until the metric's chart shows `range_key` with its data loaded and drawn; returns its container."""
    css = chart_css(metric_name)

    def ready(d):
        charts = d.find_elements(By.CSS_SELECTOR, css)
        if not charts:
            return None
        chart = charts[0]
        if chart.get_attribute("data-range") == range_key and chart.get_attribute("data-state") in ("ready", "empty"):
            return chart
        return None

    return wait_for(driver, ready, f"{metric_name} chart never showed range {range_key}")


def assert_points_match(driver, hub, reader, name, metric_name):
    """The chart loaded exactly what the history endpoint returns for the range and point budget it asked for."""
    chart = driver.find_element(By.CSS_SELECTOR, chart_css(metric_name))
    params = {key: chart.get_attribute(f"data-{attr}") for key, attr in
              (("from", "from"), ("to", "to"), ("points", "max-points"))}
    answer = httpx.get(f"{hub.url}/v1/devices/{name}/metrics/{metric_name}", params=params,
                       headers=bearer(reader), timeout=10).json()
    assert chart.get_attribute("data-points") == str(len(answer["points"])), (params, answer["step"])
    assert chart.get_attribute("data-step") == str(answer["step"])
    return answer


def drag_across(driver, metric_name, start, end):
    """Drags horizontally across a chart's plot, from `start` to `end` (fractions of its width)."""
    chart = driver.find_element(By.CSS_SELECTOR, chart_css(metric_name))
    width = chart.size["width"]
    x0 = int(width * (start - 0.5))
    x1 = int(width * (end - 0.5))
    (ActionChains(driver).move_to_element_with_offset(chart, x0, 0).click_and_hold()
     .move_by_offset((x1 - x0) // 2, 0).move_by_offset((x1 - x0) - (x1 - x0) // 2, 0).release().perform())
