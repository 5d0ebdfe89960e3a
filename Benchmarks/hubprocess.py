"""What every benchmark needs of a hub: a free port, device tokens, a running
`telehub serve`, and the hub process's own CPU seconds and memory from /proc
(so the load generator's share of the machine is not charged to the hub)."""
import os
import socket
import subprocess


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def device_tokens(binary, db, prefix, count):
    return [subprocess.check_output([binary, "token", "create", "--device", f"{prefix}-{i}", "--db", db], text=True).strip()
            for i in range(count)]


def read_token(binary, db):
    return subprocess.check_output([binary, "token", "create", "--read", "--db", db], text=True).strip()


def serve(binary, db, port, *settings):
    """Starts a hub and returns once it listens (it prints its dashboard URL)."""
    hub = subprocess.Popen([binary, "serve", "--db", db, "--port", str(port), "--token-url", *settings],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert "token=" in hub.stdout.readline(), "the hub did not start"
    return hub


def stop(hub):
    hub.terminate()
    hub.wait()


def cpu_seconds(pid):
    """User plus system CPU time of the process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
