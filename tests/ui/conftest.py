"""`dagster dev` from workspace.yaml, and headless Chromium to look at it as a person would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.instance import ensure_dagster_home
from orchestration.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def dagster_ui(tmp_path_factory) -> str:
    """The UI on a fresh instance, started exactly as the README says."""
    root = tmp_path_factory.mktemp("ui")
    settings = Settings(data_dir=root / "data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EFFEKT_")}
    env |= settings.env() | {"DAGSTER_HOME": str(ensure_dagster_home(settings))}
    port = _free_port()
    log = (root / "dagster-dev.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster")), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"dagster dev did not start: {(root / 'dagster-dev.log').read_text()[-3000:]}"
                    ) from None
                time.sleep(1)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
