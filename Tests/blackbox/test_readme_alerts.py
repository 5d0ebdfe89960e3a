"""The README's "Alerts" example, run as written: its `telehub alert create`
commands and its Python receiver (ports aside), against a small SMTP server
standing in for the mail relay. A cold-room reading above 8 °C for a minute
must end as an e-mail, once, even though the first attempt meets a mail
relay that is down."""
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import ROOT, free_port, now_ms, open_device, reading, wait_for

README = (ROOT / "README.md").read_text()


def section(title):
    start = README.index(f"## {title}\n")
    end = README.index("\n## ", start + 1)
    return README[start:end]


class MailRelay:
    """Enough SMTP to take a message: greets, says 250 to everything, 354 to DATA."""

    def __init__(self):
        self.port = free_port()
        self.messages = []
        self.up = threading.Event()
        self.up.set()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.talk, args=(connection,), daemon=True).start()

    def talk(self, connection):
        with connection, connection.makefile("rwb") as stream:
            if not self.up.is_set():
                stream.write(b"421 down for maintenance\r\n")
                stream.flush()
                return
            stream.write(b"220 relay\r\n")
            stream.flush()
            data = None
            for line in stream:
                if data is not None:
                    if line in (b".\r\n", b".\n"):
                        self.messages.append(b"".join(data).decode())
                        data = None
                        stream.write(b"250 queued\r\n")
                    else:
                        data.append(line)
                    stream.flush()
                    continue
                verb = line[:4].upper()
                if verb == b"DATA":
                    data = []
                    stream.write(b"354 go on\r\n")
                elif verb == b"QUIT":
                    stream.write(b"221 bye\r\n")
                    stream.flush()
                    return
                else:
                    stream.write(b"250 ok\r\n")
                stream.flush()

    def close(self):
        self.listener.close()


def test_the_readme_alert_example_works_as_written(hub, tmp_path):
    text = section("Alerts")
    commands = [c.replace("\\\n", " ") for c in re.findall(r"^telehub alert create (?:.*\\\n)*.*$", text, re.M)]
    assert len(commands) == 2, commands
    receiver_code = re.search(r"\*\*A receiver\*\*.*?```python\n(.*?)```", text, re.S).group(1)

    relay, hook_port = MailRelay(), free_port()
    relay.up.clear()  # the first attempt meets a relay that is down: the receiver fails, the hub retries
    secret = "readme-secret"
    code = (receiver_code.replace('b"the --secret of the rule"', repr(secret.encode()))
            .replace('("127.0.0.1", 9000)', f'("127.0.0.1", {hook_port})')
            .replace('smtplib.SMTP("localhost")', f'smtplib.SMTP("127.0.0.1", {relay.port})'))
    assert code != receiver_code and f"{hook_port}" in code and f"{relay.port}" in code
    script = tmp_path / "receiver.py"
    script.write_text(code)
    receiver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", hook_port)) == 0, message="the README's receiver listens")
        for command in commands:
            args = command.split(" ", 1)[1]
            args = args.replace("http://127.0.0.1:9000/hook", f"http://127.0.0.1:{hook_port}/hook")
            args = args.replace('"$(openssl rand -hex 16)"', secret)
            hub.cli(*[a.strip('"') for a in re.findall(r'"[^"]*"|\S+', args)])
        time.sleep(0.6)
        token, t0 = hub.device_token("cold-room"), now_ms() - 600_000
        with open_device(hub, token) as device:
            for seq, (offset, value) in enumerate([(0, 8.5), (30_000, 8.9), (61_000, 9.1)], start=1):
                device.expect_ack(reading(seq, {"temperature": value}, ts=t0 + offset))
        time.sleep(1.5)
        assert relay.messages == []  # the relay was down; the receiver did not answer; the hub retries
        relay.up.set()
        wait_for(lambda: len(relay.messages) == 1, timeout=20, message="an e-mail through the README's receiver")
        mail = relay.messages[0]
        assert "Subject: [firing] cold-room-warm on cold-room: 9.1" in mail, mail
        time.sleep(1)
        assert len(relay.messages) == 1  # once, though the first attempt failed
    finally:
        receiver.kill()
        relay.close()
