"""``gridwatch serve`` as a real child process (uvicorn on a free local port) for the fuzz, fault and load runs: start
it, wait until it is ready, kill it with SIGKILL or stop it, start it again on the same data directory.

The first admin comes from ``GRIDWATCH_ADMIN_PASSWORD``; other users and tokens are made through the API, as an
operator would. Its log (uvicorn's and the service's) is kept in ``<root>/serve-<n>.log`` and quoted when it fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "admin-passw0rd-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServiceError(RuntimeError):
    """The service did not start or answer; the message quotes the end of its log."""


@dataclass
class ServiceProcess:
    """A ``gridwatch serve`` child on ``data_dir``; ``env`` adds ``GRIDWATCH_*`` settings (strings)."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log: IO[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / f"serve-{self.starts}.log"

    def start(self, *, ready: bool = True, timeout: float = 180.0) -> None:
        """Start the process; wait until ``/readyz`` says ready (store migrated, model loaded) or, with
        ``ready=False``, until it answers ``/healthz``."""
        self.starts += 1
        self._log = self.log_path.open("wb")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GRIDWATCH_DATA_DIR": str(self.data_dir),
            "GRIDWATCH_ADMIN_PASSWORD": ADMIN_PASSWORD,
            **self.env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill reaches nothing of the test's
        )
        self.wait_ready(ready=ready, timeout=timeout)

    def wait_ready(self, *, ready: bool = True, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        path = "/readyz" if ready else "/healthz"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceError(f"gridwatch serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + path, timeout=5.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ServiceError(f"gridwatch serve not {'ready' if ready else 'up'} in {timeout:g} s:\n{self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a power cut would end it: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self._close_log()

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL when it does not end in ``timeout`` seconds."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def logs(self) -> str:
        """Every start's log, in order."""
        return "".join(
            (self.root / f"serve-{n}.log").read_text(errors="replace")
            for n in range(1, self.starts + 1)
            if (self.root / f"serve-{n}.log").exists()
        )

    def __enter__(self) -> ServiceProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- API helpers ------------------------------------------------------------------------------------

    def login(self, name: str = "admin", password: str = ADMIN_PASSWORD) -> dict[str, str]:
        response = httpx.post(f"{self.url}/api/v1/auth/login", json={"username": name, "password": password})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def add_user(self, name: str, role: str, password: str, grids: list[str] | None = None) -> None:
        body: dict[str, Any] = {"name": name, "role": role, "password": password, "grids": grids or []}
        response = httpx.post(f"{self.url}/api/v1/users", json=body, headers=self.login())
        if response.status_code != 409:  # exists from an earlier start
            response.raise_for_status()

    def ingest_token(self, name: str = "ingest") -> dict[str, str]:
        body = {"name": name, "scopes": ["ingest"], "days": 1}
        response = httpx.post(f"{self.url}/api/v1/tokens", json=body, headers=self.login())
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['token']}"}
