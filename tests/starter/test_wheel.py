"""certify installed from its wheel, outside the checkout, as an administrator gets it."""

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CERTIFY_", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/bin:/bin"  # as cron has it: no virtual environment on the PATH
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_wheel_carries_the_kit_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, ROOT],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        pytest.skip(f"the wheel cannot be built here: {built.stderr.strip()[-300:]}")
    (wheel,) = wheels.glob("certify-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # its dependencies from this interpreter's site-packages, by a plain path (not a site
    # dir, so this checkout's editable install is not picked up): quick and offline
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    certify = env_dir / "bin" / "certify"
    where = _run(python, "-c", "import certify; print(certify.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(env_dir)), where.stdout  # the wheel's, not the checkout's

    home = tmp_path / "office"
    started = _run(certify, "init", home, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    cron = (home / "crontab.example").read_text()
    assert f"*/15 * * * *  {certify} run-due -q --db {home / 'certify.db'}" in cron
    checked = _run(certify, "validate", cwd=home)
    assert checked.returncode == 0, checked.stderr + checked.stdout
    imported = _run(certify, "import", ROOT / "examples", "--now", "2026-11-01T08:00", cwd=home)
    assert imported.returncode == 0, imported.stderr
    for now in ("2026-11-10T08:00", "2026-11-20T10:00"):
        ran = _run(
            certify, "run-due", "--now", now, "--transport", "dir", "--out", "outbox", cwd=home
        )
        assert ran.returncode == 0, ran.stderr
    assert list((home / "outbox").glob("*.eml"))
