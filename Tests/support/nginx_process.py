"""nginx from Debian's packages, configured with the shipped example
(docs/nginx-telehub.conf), only its addresses and log path changed."""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from telehub_process import ROOT, free_port

EXAMPLE = ROOT / "docs" / "nginx-telehub.conf"


class Nginx:
    """nginx in the foreground with a prefix folder of its own."""

    def __init__(self, workdir: Path, upstream_ports):
        self.dir = workdir / "nginx"
        self.access_log = workdir / "nginx" / "access.log"
        self.dir.mkdir()
        os.chmod(self.dir, 0o777)  # workers run as nobody when started by root
        self.port = free_port()
        site = EXAMPLE.read_text()
        servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in upstream_ports)
        site, count = re.subn(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, site)
        assert count == 1, "the example's upstream block changed shape"
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        site, count = re.subn(r"access_log \S+ telehub;", f"access_log {self.access_log} telehub;", site)
        assert count == 1, "the example's access_log line changed shape"
        (self.dir / "telehub.conf").write_text(site)
        temp = "".join(f"    {kind}_temp_path {self.dir}/{kind};\n" for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
        (self.dir / "nginx.conf").write_text(
            f"daemon off;\npid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log warn;\nworker_processes 1;\n"
            f"events {{ worker_connections 4096; }}\n"
            f"http {{\n    access_log off;\n{temp}    include {self.dir}/telehub.conf;\n}}\n")
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                return
            except httpx.HTTPError:
                assert self.proc.poll() is None, self.proc.stderr.read().decode()
                time.sleep(0.05)
        raise AssertionError("nginx did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
