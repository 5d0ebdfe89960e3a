"""Alerts and units on the dashboard, in a real headless Chromium: the banner
of firing alerts and the marked card appear and go live over the stream, the
alerts page lists every rule and the history with webhook outcomes, values
carry their unit and label, and it all fits a phone's width in dark mode."""
import time

from selenium.webdriver.common.by import By

from test_alerts import Receiver
from test_dashboard import attribute_of, browser, card, device, log_in_by_link, screenshot, send_reading, text_of, visible, wait_for  # noqa: F401

LIVE = 5  # seconds for anything that arrives over the stream


def test_firing_alert_shows_in_banner_card_and_alerts_page_and_clears_live(hub, browser):
    hub.cli("metric", "set", "--device", "*", "--metric", "temperature", "--unit", "°C", "--label", "Air temperature")
    hub.cli("alert", "create", "--name", "cold-room-warm", "--device", "cold-room", "--metric", "temperature",
            "--above", "8", "--clear-below", "7.5", "--severity", "critical")
    time.sleep(0.6)
    with device(hub, "cold-room") as ws:
        send_reading(ws, 1, {"temperature": 6.5})
        log_in_by_link(browser, hub)
        value = f'{card("cold-room")} .metric-value[data-metric="temperature"]'
        wait_for(browser, lambda d: text_of(d, value) == "6.5 °C", "the card shows no unit", timeout=LIVE)
        assert "Air temperature" in text_of(browser, f'{card("cold-room")} .metric-name')
        assert not visible(browser, "#alert-banner")

        send_reading(ws, 2, {"temperature": 8.4})
        item = '#alert-list .alert-item[data-alert="cold-room-warm"]'
        wait_for(browser, lambda d: visible(d, item), "no firing alert in the banner", timeout=LIVE)
        assert attribute_of(browser, item, "data-severity") == "critical"
        assert "8.4 °C" in text_of(browser, item) and "cold-room" in text_of(browser, item)
        wait_for(browser, lambda d: attribute_of(d, card("cold-room"), "data-alert") == "critical", "the card is not marked")
        assert text_of(browser, "#alert-count") == "1"
        screenshot(browser, "alert-firing.png")

        browser.get(f"{hub.url}/#/alerts")
        rule_row = '#alert-rules tr[data-alert="cold-room-warm"]'
        wait_for(browser, lambda d: visible(d, rule_row), "the alerts page lists no rule")
        assert "firing" in text_of(browser, rule_row) and "above 8 °C, clears below 7.5 °C" in text_of(browser, rule_row)
        wait_for(browser, lambda d: visible(d, '#alert-history tr[data-kind="transition"][data-status="firing"]'),
                 "the history shows no transition")

        send_reading(ws, 3, {"temperature": 7.4})  # below the clear threshold: resolved
        wait_for(browser, lambda d: "ok" in (text_of(d, rule_row) or ""), "the rule never went back to ok", timeout=LIVE)
        wait_for(browser, lambda d: visible(d, '#alert-history tr[data-kind="transition"][data-status="resolved"]'),
                 "the history shows no resolution", timeout=LIVE)
        browser.get(f"{hub.url}/#/")
        wait_for(browser, lambda d: not visible(d, "#alert-banner"), "the banner stayed after the alert resolved")
        assert attribute_of(browser, card("cold-room"), "data-alert") is None
    assert [m for m in browser.get_log("browser") if m["level"] == "SEVERE"] == []


def test_webhook_outcomes_on_the_alerts_page(hub_factory, browser):
    hub = hub_factory("--webhook-timeout-ms", "1500").start()
    receiver = Receiver()
    receiver.hang.set()  # the first call hangs: the delivery stays pending
    try:
        hub.cli("alert", "create", "--name", "door-open", "--device", "door", "--metric", "open", "--above", "0",
                "--webhook", receiver.url)
        time.sleep(0.6)
        log_in_by_link(browser, hub)
        browser.get(f"{hub.url}/#/alerts")
        with device(hub, "door") as ws:
            send_reading(ws, 1, {"open": 1})
        delivery = '#alert-history tr[data-kind="delivery"]'
        wait_for(browser, lambda d: "webhook pending" in (text_of(d, delivery) or ""), "no pending delivery in the history")
        # Refused for good on the next attempt (after the 1.5 s timeout): the page follows without an alert event.
        receiver.answers = [410]
        receiver.hang.clear()
        wait_for(browser, lambda d: "webhook dead" in (text_of(d, delivery) or ""), "the dead letter never showed", timeout=30)
        assert "HTTP 410" in text_of(browser, delivery)
    finally:
        receiver.close()


def test_alerts_fit_a_phone_in_dark_mode(hub, browser):
    browser.set_window_size(390, 844)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    hub.cli("alert", "create", "--name", "a-rather-long-alert-name-for-a-small-screen", "--device", "greenhouse-north",
            "--metric", "humidity", "--below", "30", "--severity", "warning")
    time.sleep(0.6)
    with device(hub, "greenhouse-north") as ws:
        send_reading(ws, 1, {"humidity": 12.25})
        log_in_by_link(browser, hub)
        wait_for(browser, lambda d: visible(d, "#alert-list .alert-item"), "no banner at phone width", timeout=LIVE)
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px"
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)", background  # the dark palette
    browser.get(f"{hub.url}/#/alerts")
    wait_for(browser, lambda d: visible(d, "#alert-rules tr"), "no rules at phone width")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the alerts page scrolls sideways: {width}px"
    screenshot(browser, "alerts-phone-dark.png")
