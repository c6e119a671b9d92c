"""A child process in its own process group: started with an environment, ready when its log says so,
stopped (or killed) with everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    ready: str
    process: subprocess.Popen | None = None

    def start(self) -> Proc:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.args, cwd=ROOT, env={**os.environ, **self.env}, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            if self.ready in self.log.read_text(errors="replace"):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-3000:]}")

    def memory(self) -> dict[str, int]:
        """Peak and current resident memory (kB) from /proc/<pid>/status."""
        assert self.process
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0])
        return fields

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        assert self.process
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no goodbye to anyone."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU time the whole machine has spent busy, and idle or waiting on the disk, over all its cores
    (from /proc/stat): what every process took, PostgreSQL and the load's own driver included."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq + steal) / tick, (idle + iowait) / tick


def machine_cpu_since(then: tuple[float, float]) -> tuple[float, float]:
    """Busy and idle CPU seconds of the whole machine since `then` (a `machine_cpu_seconds()`)."""
    busy, idle = machine_cpu_seconds()
    return busy - then[0], idle - then[1]
