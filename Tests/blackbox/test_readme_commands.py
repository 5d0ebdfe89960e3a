"""The README's "Commands and device state" example, run as written (the
hub's port and the `telehub` on the PATH aside): a command sent before the
device connects is answered within the wait, and the desired interval is
applied and reported."""
import os
import re
import subprocess

from conftest import BINARY, ROOT

README = (ROOT / "README.md").read_text()


def example():
    start = README.index("## Commands and device state\n")
    section = README[start:README.index("\n## ", start + 1)]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_commands_example_works_as_written(hub, tmp_path):
    script = example().replace("127.0.0.1:8080", f"127.0.0.1:{hub.port}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "telehub").symlink_to(BINARY)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TELEHUB_DB": str(hub.db), "HOME": str(tmp_path)}
    result = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r'"result":\{"interval":5\}', out) and '"status":"succeeded"' in out, out
    assert re.search(r'"version":1\}', out), out
    assert re.search(r"desired\s+v1\s+\{\"interval\":10\}", out), out
    assert re.search(r"reported\s+v\d+\s+\{\"interval\":10\}\s+\(applied 1\)", out), out
    assert re.search(r"delta\s+\{\}", out), out
    assert re.search(r"set-interval\s+succeeded", out), out
