"""Commands and desired state on the device page, in a real headless
Chromium (contract v1.2): a control session sends a command from the form
and watches its status move as a WebSocket device acknowledges and answers;
it edits the desired state, which is saved with If-Match and never
overwrites a change someone else made meanwhile (the 412 is shown); it
cancels an open command. A read session sees the same state and commands
with no form and no button. It all fits a phone's width in dark mode."""
import json

import httpx
from selenium.webdriver.common.by import By

from conftest import bearer, open_device
from test_commands_ws import control_token, next_command
from test_dashboard import attribute_of, browser, screenshot, text_of, visible, wait_for, wait_live  # noqa: F401
from test_device_state import next_of

LIVE = 5  # seconds for anything that arrives over the stream


# MARK: - Helpers

def log_in(driver, hub, token):
    """Signs in by link with any dashboard token (read or control)."""
    driver.get(f"{hub.url}/?token={token}")
    wait_live(driver)


def open_page(driver, hub, name):
    driver.get(f"{hub.url}/#/device/{name}")
    wait_for(driver, lambda d: text_of(d, "#device-title") == name, f"the page of {name} did not open")
    wait_for(driver, lambda d: attribute_of(d, "#state-panel", "data-desired-version") is not None, "the state never loaded")


def row(command_id):
    return f'#commands-table tr[data-id="{command_id}"]'


def status_of(driver, command_id):
    return attribute_of(driver, row(command_id), "data-status") if driver.find_elements(By.CSS_SELECTOR, row(command_id)) else None


def wait_status(driver, command_id, status, timeout=LIVE):
    wait_for(driver, lambda d: status_of(d, command_id) == status,
             f"{command_id} never showed {status} (shows {status_of(driver, command_id)})", timeout=timeout)
    assert text_of(driver, f"{row(command_id)} .command-status") == status


def type_into(driver, css, text):
    field = driver.find_element(By.CSS_SELECTOR, css)
    field.clear()
    field.send_keys(text)


def editor_value(driver):
    return driver.find_element(By.ID, "desired-editor").get_attribute("value")


def state(hub, token, name):
    response = httpx.get(f"{hub.url}/v1/devices/{name}/state", headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def put_desired(hub, token, name, body, version=None):
    headers = bearer(token)
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    response = httpx.put(f"{hub.url}/v1/devices/{name}/state/desired", headers=headers, json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def command(hub, token, command_id):
    return httpx.get(f"{hub.url}/v1/commands/{command_id}", headers=bearer(token), timeout=10).json()


def severe(driver, allowed=()):
    """The console's errors, except the network log lines of statuses a test provoked on purpose."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
            and not any(f"status of {status}" in entry["message"] for status in allowed)]


# MARK: - Tests

def test_a_control_session_sends_a_command_and_sees_its_status_move(hub, browser):
    control = control_token(hub)
    with open_device(hub, hub.device_token("pump-1")) as device:
        log_in(browser, hub, control)
        open_page(browser, hub, "pump-1")
        wait_for(browser, lambda d: visible(d, "#command-form"), "a control session has no command form")
        wait_for(browser, lambda d: text_of(d, "#commands-status") == "No commands for this device yet.", "no empty list")

        type_into(browser, "#command-name", "set-interval")
        type_into(browser, "#command-args", '{"seconds": 5}')
        type_into(browser, "#command-ttl", "1h")
        type_into(browser, "#command-priority", "7")
        browser.find_element(By.ID, "command-send").click()

        # The device gets exactly what the form said; the hub stored the ttl and priority.
        message = next_command(device)
        assert (message["name"], message["args"]) == ("set-interval", {"seconds": 5})
        command_id = message["id"]
        stored = command(hub, control, command_id)
        assert stored["priority"] == 7 and stored["expiresAt"] - stored["createdAt"] == 3_600_000
        wait_for(browser, lambda d: command_id in (text_of(d, "#command-message") or ""), "no word that it was stored")
        assert attribute_of(browser, "#command-message", "data-kind") == "sent"

        # Each status shows as the device moves it, without a reload.
        browser.execute_script("window.__sameDocument = true")
        wait_status(browser, command_id, "sent")
        assert '{"seconds":5}' in text_of(browser, f"{row(command_id)} .command-args")
        assert visible(browser, f"{row(command_id)} button.cancel-command"), "an open command has no Cancel button"
        device.send({"type": "command_ack", "id": command_id})
        wait_status(browser, command_id, "delivered")
        reply = device.request({"type": "command_result", "id": command_id, "status": "succeeded",
                                "result": {"applied": True}, "seq": 1})
        assert reply == {"type": "ack", "seq": 1}
        wait_status(browser, command_id, "succeeded")
        wait_for(browser, lambda d: text_of(d, f"{row(command_id)} .command-outcome") == '{"applied":true}',
                 "the result never showed")
        assert not visible(browser, f"{row(command_id)} button.cancel-command"), "a finished command can be cancelled"

        # A command sent from elsewhere (the CLI) appears live, with its arguments, newest first.
        other = hub.cli("command", "send", "pump-1", "reboot", "--args", '{"delay":3}').stdout.strip()
        wait_for(browser, lambda d: status_of(d, other) in ("queued", "sent"), "a command from the CLI never appeared")
        wait_for(browser, lambda d: text_of(d, f"{row(other)} .command-args") == '{"delay":3}', "its arguments never showed")
        ids = [e.get_attribute("data-id") for e in browser.find_elements(By.CSS_SELECTOR, "#commands-table tbody tr")]
        assert ids == [other, command_id]
        assert browser.execute_script("return window.__sameDocument === true"), "the page reloaded"
        screenshot(browser, "device-commands.png")
    assert severe(browser) == []


def test_the_form_names_a_mistake_before_sending_anything(hub, browser):
    control = control_token(hub)
    hub.device_token("pump-2")
    log_in(browser, hub, control)
    open_page(browser, hub, "pump-2")
    wait_for(browser, lambda d: visible(d, "#command-form"), "no command form")
    type_into(browser, "#command-name", "reboot")
    type_into(browser, "#command-args", "{seconds: 5}")
    browser.find_element(By.ID, "command-send").click()
    wait_for(browser, lambda d: "not JSON" in (text_of(d, "#command-message") or ""), "bad arguments were not named")
    assert browser.find_element(By.ID, "command-args").get_attribute("aria-invalid") == "true"
    type_into(browser, "#command-args", "{}")
    type_into(browser, "#command-priority", "12")
    browser.find_element(By.ID, "command-send").click()
    wait_for(browser, lambda d: "priority" in (text_of(d, "#command-message") or ""), "a bad priority was not named")
    assert httpx.get(f"{hub.url}/v1/devices/pump-2/commands", headers=bearer(control), timeout=10).json() == {"commands": []}


def test_the_desired_state_editor_saves_with_if_match_and_never_overwrites_another_change(hub, browser):
    control = control_token(hub)
    token = hub.device_token("thermo-1")
    log_in(browser, hub, control)
    open_page(browser, hub, "thermo-1")
    wait_for(browser, lambda d: visible(d, "#desired-editor"), "a control session has no desired-state editor")
    assert attribute_of(browser, "#state-panel", "data-desired-version") == "0"
    assert json.loads(editor_value(browser)) == {}

    type_into(browser, "#desired-editor", '{"interval": 5, "mode": {"fan": "low"}}')
    browser.find_element(By.ID, "desired-save").click()
    wait_for(browser, lambda d: text_of(d, "#desired-message") == "Saved as version 1.", "no word that it was saved")
    desired = state(hub, control, "thermo-1")["desired"]
    assert (desired["version"], desired["state"]) == (1, {"interval": 5, "mode": {"fan": "low"}})
    # Desired, reported and the delta: what the device has not applied yet.
    wait_for(browser, lambda d: attribute_of(d, "#state-panel", "data-desired-version") == "1", "version 1 not shown")
    assert json.loads(text_of(browser, "#desired-json")) == {"interval": 5, "mode": {"fan": "low"}}
    delta = '#delta-table tr[data-path="mode.fan"]'
    wait_for(browser, lambda d: visible(d, delta), "no delta row for mode.fan")
    assert text_of(browser, f"{delta} .delta-desired") == '"low"'
    assert text_of(browser, f"{delta} .delta-reported") == "not reported"

    # The device applies it and reports: the page follows over the stream.
    with open_device(hub, token) as device:
        assert next_of(device, "desired")["version"] == 1
        reply = device.request({"type": "reported", "state": {"interval": 5, "mode": {"fan": "high"}}, "applied": 1, "seq": 1})
        assert reply == {"type": "ack", "seq": 1}
        wait_for(browser, lambda d: attribute_of(d, "#state-panel", "data-applied") == "1", "the report never showed",
                 timeout=LIVE)
        assert text_of(browser, f"{delta} .delta-reported") == '"high"'
        assert not browser.find_elements(By.CSS_SELECTOR, '#delta-table tr[data-path="interval"]')
        device.request({"type": "reported", "state": {"mode": {"fan": "low"}}, "seq": 2})
        wait_for(browser, lambda d: visible(d, "#delta-empty"), "an applied state still shows a delta", timeout=LIVE)

    # Someone else saves while the operator edits: saving is refused, nothing is overwritten, the text stays.
    type_into(browser, "#desired-editor", '{"interval": 10}')
    put_desired(hub, control, "thermo-1", {"interval": 7}, version=1)
    browser.find_element(By.ID, "desired-save").click()
    message = "#desired-message"
    wait_for(browser, lambda d: attribute_of(d, message, "data-kind") == "conflict", "no word of the other change")
    assert attribute_of(browser, message, "data-version") == "2"
    assert "someone else changed" in text_of(browser, message) and "version 2" in text_of(browser, message)
    assert state(hub, control, "thermo-1")["desired"]["state"] == {"interval": 7}
    assert json.loads(editor_value(browser)) == {"interval": 10}
    wait_for(browser, lambda d: json.loads(text_of(d, "#desired-json") or "null") == {"interval": 7}, "their version not shown")

    # Starting again from their version saves.
    revert = browser.find_element(By.ID, "desired-revert")
    assert revert.text == "Load version 2"
    revert.click()
    assert json.loads(editor_value(browser)) == {"interval": 7}
    assert text_of(browser, "#desired-base") == "Editing version 2."
    type_into(browser, "#desired-editor", '{"interval": 9}')
    browser.find_element(By.ID, "desired-save").click()
    wait_for(browser, lambda d: text_of(d, "#desired-message") == "Saved as version 3.", "the second save failed")
    assert state(hub, control, "thermo-1")["desired"]["state"] == {"interval": 9}
    screenshot(browser, "device-state.png")
    assert severe(browser, allowed=(412,)) == []


def test_an_open_command_is_cancelled_from_its_row(hub, browser):
    control = control_token(hub)
    hub.device_token("sleepy-1")  # never connects: its commands stay queued
    log_in(browser, hub, control)
    open_page(browser, hub, "sleepy-1")
    sent = httpx.post(f"{hub.url}/v1/devices/sleepy-1/commands", headers=bearer(control), timeout=10,
                      json={"name": "calibrate", "args": {"offset": 0.5}})
    assert sent.status_code == 202, sent.text
    queued = sent.json()["id"]
    wait_status(browser, queued, "queued")
    # Seen first in an event (which has no arguments); the whole command is fetched to fill the row in.
    wait_for(browser, lambda d: text_of(d, f"{row(queued)} .command-args") == '{"offset":0.5}', "its arguments never showed")
    cancel = f"{row(queued)} button.cancel-command"
    wait_for(browser, lambda d: visible(d, cancel), "no Cancel button on a queued command")
    browser.find_element(By.CSS_SELECTOR, cancel).click()
    wait_status(browser, queued, "canceled")
    assert command(hub, control, queued)["status"] == "canceled"
    assert not visible(browser, cancel)
    assert "canceled" in text_of(browser, f"{row(queued)} .command-outcome")
    assert severe(browser) == []


def test_a_read_session_sees_state_and_commands_but_no_form_or_button(hub, browser):
    control = control_token(hub)
    hub.device_token("gh-ro")
    put_desired(hub, control, "gh-ro", {"mode": "eco"})
    sent = httpx.post(f"{hub.url}/v1/devices/gh-ro/commands", headers=bearer(control), json={"name": "reboot"}, timeout=10)
    assert sent.status_code == 202, sent.text
    log_in(browser, hub, hub.read_token())
    open_page(browser, hub, "gh-ro")
    wait_status(browser, sent.json()["id"], "queued")
    wait_for(browser, lambda d: json.loads(text_of(d, "#desired-json") or "null") == {"mode": "eco"}, "no desired state")
    assert visible(browser, '#delta-table tr[data-path="mode"]')
    assert browser.execute_async_script(
        "fetch('v1/session').then(r => r.json()).then(s => arguments[0](s.kind))") == "read"
    for css in ("#command-form", "#desired-form", "#desired-editor", "#command-send", "#desired-save"):
        assert not visible(browser, css), f"a read session sees {css}"
    assert not [b for b in browser.find_elements(By.CSS_SELECTOR, "button.cancel-command") if b.is_displayed()]
    assert severe(browser) == []


def test_state_and_commands_fit_a_phone_in_dark_mode(hub, browser):
    browser.set_window_size(390, 844)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    control = control_token(hub)
    name = "greenhouse-north-wall-controller"
    hub.device_token(name)
    put_desired(hub, control, name, {"schedule": {"weekday-mornings-before-the-shift": "x" * 120},
                                     "a-rather-long-setting-name-without-any-spaces-in-it": [1, 2, 3]})
    sent = httpx.post(f"{hub.url}/v1/devices/{name}/commands", headers=bearer(control), timeout=10,
                      json={"name": "set-irrigation-schedule-for-the-north-wall", "args": {"zones": ["a" * 60, "b" * 60]}})
    assert sent.status_code == 202, sent.text
    log_in(browser, hub, control)
    open_page(browser, hub, name)
    wait_status(browser, sent.json()["id"], "queued")
    wait_for(browser, lambda d: visible(d, "#command-form") and visible(d, "#desired-editor"), "no forms at phone width")
    wait_for(browser, lambda d: d.execute_script("return window.innerWidth") <= 400, "window did not shrink")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the device page scrolls sideways: {width}px"
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)", background  # the dark palette
    for css in ("#desired-editor", "#command-args", "#desired-json"):
        colour = browser.execute_script(f"return getComputedStyle(document.querySelector('{css}')).backgroundColor")
        assert colour == "rgb(13, 17, 23)", (css, colour)
    # Long names and arguments wrap: the commands table fits its panel without scrolling sideways.
    scroll = browser.execute_script(
        "const box = document.querySelector('#commands-table').parentElement; return [box.scrollWidth, box.clientWidth]")
    assert scroll[0] <= scroll[1], f"the commands table scrolls sideways: {scroll}"
    # The whole page in one picture: a taller window, the same width.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(390, min(height + 150, 6000))
    screenshot(browser, "device-phone-dark.png")
    assert severe(browser) == []
