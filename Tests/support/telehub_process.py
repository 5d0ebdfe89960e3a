"""A `telehub serve` process, the one launcher for the black-box suites, the
Python device client's suite and the benchmarks in `Benchmarks/`: the built
binary on a free loopback port with a fresh database, tokens made through its
CLI as an operator would, and the process's own CPU seconds and memory from
/proc (so a load generator's share of the machine is not charged to the hub).
Standard library only."""
import os
import uuid
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("TELEHUB_BIN", ROOT / ".build" / "debug" / "telehub"))
PUBLIC = Path(os.environ.get("TELEHUB_PUBLIC", ROOT / "Public"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# TELEHUB_BLACKBOX_STORE=postgres runs the hubs on the PostgreSQL server named by
# TELEHUB_TEST_POSTGRES, each Hub in a schema of its own; tests that look inside
# the SQLite file are marked `sqlite_only` and skipped then.
STORE = os.environ.get("TELEHUB_BLACKBOX_STORE", "sqlite")


def store_address(workdir: Path):
    if STORE == "sqlite":
        return workdir / "telehub.sqlite"
    base = os.environ["TELEHUB_TEST_POSTGRES"]
    schema = "b" + uuid.uuid4().hex[:20]
    return base + ("&" if "?" in base else "?") + f"schema={schema}"


def cpu_seconds(pid) -> float:
    """User plus system CPU time of the process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Hub:
    """One `telehub serve` process and its database; restarts keep the port and the file.
    `binary` picks another build (the benchmarks' `--bin`)."""

    def __init__(self, workdir: Path, extra_args=(), env=None, binary=None):
        self.workdir = Path(workdir)
        self.binary = Path(binary or BINARY)
        self.db = store_address(self.workdir)
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.env = {**os.environ, **(env or {})}
        self.proc = None
        self.started_once = False
        self.serve_line = None
        self.session_token = None
        self.log_path = self.workdir / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ingest"

    def cli(self, *args, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.binary), *args, "--db", str(self.db)], capture_output=True, text=True, timeout=60, env=self.env
        )
        if check and result.returncode != 0:
            raise AssertionError(f"telehub {' '.join(args)} failed: {result.stderr}")
        return result

    def device_token(self, name: str, *extra) -> str:
        return self.cli("token", "create", "--device", name, *extra).stdout.strip()

    def read_token(self, *extra) -> str:
        return self.cli("token", "create", "--read", *extra).stdout.strip()

    def device_tokens(self, prefix: str, count: int) -> list:
        """Tokens for devices `prefix-0` … `prefix-(count-1)`."""
        return [self.device_token(f"{prefix}-{index}") for index in range(count)]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def rss_kib(self) -> int:
        return rss_kib(self.proc.pid)

    def exported(self, device=None):
        """Every stored value as (device, metric, ts, value), read through
        `telehub export` (values live in compressed chunks; works while the hub runs)."""
        args = ["export", "--format", "csv"] + (["--device", device] if device else [])
        result = self.cli(*args)
        rows = []
        for line in result.stdout.splitlines()[1:]:
            name, metric, ts, _, value = line.split(",")
            rows.append((name, metric, int(ts), float(value)))
        return rows

    def start(self, timeout=30.0) -> "Hub":
        """Starts the hub and returns once `/healthz` answers 200.

        `free_port` closes the port it found, so another test worker (or an
        outgoing connection) may take it before the hub binds it: a first
        start refused with "Address already in use" tries again on another
        port. A restart keeps its port, as the devices of the test expect."""
        for _ in range(5):
            logged = self.log_path.stat().st_size if self.log_path.exists() else 0
            line = self._launch()
            if line or self.started_once:
                break
            self.proc.wait(timeout=10)
            with open(self.log_path, errors="replace") as log:
                log.seek(logged)
                if "Address already in use" not in log.read():
                    break
            self.port = free_port()
        return self._await_health(line, timeout)

    def _launch(self) -> str:
        """Runs `serve`; returns the first line it printed (empty when it exited first)."""
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--db", str(self.db), "--port", str(self.port), "--public", str(PUBLIC), "--token-url",
             *self.extra_args],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True, env=self.env,
        )
        return self.proc.stdout.readline()

    def _await_health(self, line: str, timeout: float) -> "Hub":
        deadline = time.monotonic() + timeout
        self.serve_line = line
        match = re.search(r"token=(thr_\S+)", line or "")
        assert match, f"serve printed no dashboard URL: {line!r}; see {self.log_path}"
        self.session_token = match.group(1)
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"hub exited with {self.proc.returncode}; see {self.log_path}"
            if self.healthy():
                self.started_once = True
                return self
            time.sleep(0.03)
        raise AssertionError(f"hub did not become healthy; see {self.log_path}")

    def healthy(self) -> bool:
        """Whether `/healthz` answers 200 now."""
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, sig=signal.SIGTERM, timeout=10.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill9(self):
        self.stop(sig=signal.SIGKILL)

    def restart(self):
        self.stop()
        self.start()


def hub_factory_fixture(tmp_path, hub_class=Hub):
    """The body of a `hub_factory` fixture: makes hubs in `tmp_path`, stops them after the test."""
    hubs = []

    def make(*extra_args, env=None):
        workdir = tmp_path / f"hub{len(hubs)}"
        workdir.mkdir()
        hub = hub_class(workdir, extra_args, env)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()
