"""The client installs the way device authors install anything: `pip install
./devices/python` into a fresh virtual environment gives the package and a
`telehub-device` command that runs."""
import shutil
import subprocess
import venv
from pathlib import Path

from conftest import CLIENT_DIR


def test_pip_installs_the_package_and_its_command(tmp_path):
    # From a copy: setuptools writes its build folders next to the sources.
    source = tmp_path / "source"
    shutil.copytree(CLIENT_DIR, source, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.sqlite*"))
    env_dir = tmp_path / "venv"
    # System site packages: websockets (the one dependency) is already there; pip fetches only the build backend.
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--quiet", str(source)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    where = subprocess.run([str(python), "-c", "import telehub_device; print(telehub_device.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert where.returncode == 0 and "site-packages" in where.stdout, where.stdout + where.stderr
    command = env_dir / "bin" / "telehub-device"
    helped = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert helped.returncode == 0 and "usage" in helped.stdout.lower(), helped.stdout + helped.stderr
    refused = subprocess.run([str(command), "--url", "ws://127.0.0.1:9/v1/ingest"], capture_output=True, text=True,
                             timeout=60, cwd=tmp_path)
    assert refused.returncode != 0  # no token: a usage error, not a crash
    assert "Traceback" not in refused.stderr, refused.stderr
