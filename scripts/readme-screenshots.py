#!/usr/bin/env python3
"""Takes the README's screenshots: a demo hub (a day of backfilled history)
in headless Chromium, the overview and a device page, light theme.

    python3 scripts/readme-screenshots.py --bin .build/release/telehub
"""
import argparse
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=str(ROOT / ".build/release/telehub"))
    parser.add_argument("--out", default=str(ROOT / "docs/screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        hub = subprocess.Popen([args.bin, "serve", "--demo", "--token-url", "--db", f"{tmp}/demo.sqlite", "--port", str(port),
                                "--public", str(ROOT / "Public")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = re.search(r"(http://\S+)", hub.stdout.readline()).group(1)
            time.sleep(5)  # backfill committed, a few live readings in
            options = webdriver.ChromeOptions()
            for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800", "--lang=en-US"]:
                options.add_argument(flag)
            options.binary_location = "/usr/bin/chromium"
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
            try:
                driver.get(url)
                wait = WebDriverWait(driver, 20)
                wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".device-card")) == 4)
                wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".device-card svg")) >= 6)
                time.sleep(1)
                driver.save_screenshot(str(out / "overview.png"))
                driver.get(f"http://127.0.0.1:{port}/#/device/demo-greenhouse-1?range=24h")
                wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-state]") and all(
                    e.get_attribute("data-state") == "ready" for e in d.find_elements(By.CSS_SELECTOR, "[data-state][data-range]")))
                time.sleep(1)
                driver.save_screenshot(str(out / "device.png"))
            finally:
                driver.quit()
        finally:
            hub.terminate()
            hub.wait()
    print(f"saved {out / 'overview.png'} and {out / 'device.png'}")


if __name__ == "__main__":
    main()
