"""Child processes, each measured on its own: the sandbox server, connector runs and floor runs."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the bench's own, and the sandbox's
RUNTIME_VENV = ROOT / ".tmp" / "bench-runtime"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# A sink for a child's stdout: "devnull", a file path, or a callback fed each line (bytes) as it arrives.
Sink = Union[str, Path, Callable[[bytes], None]]


class BenchError(RuntimeError):
    """A step of the benchmark could not be measured; the message says which and why."""


def runtime_python() -> str:
    """A Python whose environment holds only the connector's runtime dependencies, as the Docker image's does.

    The development environment also holds PyAirbyte and what it brings (boto3 among them), which the CDK's
    HTTP cache library then imports at start-up: measured there, the connector would pay for packages it
    never has in production. Built once per setup.py and constraints.txt; the connector's code is still the
    working tree's (`python main.py` imports `source_orderdesk` from the repository root).
    """
    key = "\n".join((ROOT / name).read_text() for name in ("setup.py", "constraints.txt"))
    stamp = RUNTIME_VENV / ".installed"
    python = RUNTIME_VENV / "bin" / "python"
    if not (stamp.exists() and stamp.read_text() == key):
        print("(setting up a runtime-only environment for the connector, once: about a minute)", flush=True)
        subprocess.run([PYTHON, "-m", "venv", "--clear", str(RUNTIME_VENV)], check=True)
        install = [str(python), "-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt"), str(ROOT)]
        result = subprocess.run(install, capture_output=True, text=True)
        if result.returncode != 0:
            raise BenchError(f"could not install the connector into {RUNTIME_VENV}: {result.stderr[-500:]}")
        stamp.write_text(key)
    return str(python)


@dataclass
class Usage:
    """One finished child process, as the kernel accounted it (`os.wait4`)."""

    command: str
    returncode: int
    wall: float  # seconds from spawn to exit
    user: float
    sys: float
    max_rss_mb: float  # peak resident set size
    stderr_tail: str = ""
    first_line_at: Optional[float] = None  # seconds after spawn when the first stdout line arrived (callback sinks)

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self, what: str) -> Usage:
        if not self.ok:
            tail = self.stderr_tail.strip() or "(no stderr)"
            raise BenchError(f"{what} exited with code {self.returncode}: {tail[-1500:]}")
        return self

    @property
    def sync_wall(self) -> float:
        """Wall time from the first output line to the exit: the sync without the interpreter's start-up."""
        return self.wall - (self.first_line_at or 0.0)


def run_measured(
    args: Sequence[str],
    stdout: Sink = "devnull",
    timeout: float = 900.0,
    env: Optional[dict] = None,
) -> Usage:
    """Runs `args` from the repository root and returns its own CPU and peak RSS (not the bench's)."""
    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    stderr_path = work / "stderr"
    callback = stdout if callable(stdout) else None
    out_file = None
    if callback is not None:
        out_target = subprocess.PIPE
    elif str(stdout) == "devnull":
        out_target = subprocess.DEVNULL
    else:
        out_file = open(stdout, "wb")
        out_target = out_file
    full_env = {**os.environ, **(env or {})}
    with open(stderr_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(list(args), cwd=ROOT, stdout=out_target, stderr=err, stdin=subprocess.DEVNULL, env=full_env)
    if out_file is not None:
        out_file.close()  # the child holds its own copy
    timed_out = threading.Event()

    def kill_on_timeout() -> None:
        timed_out.set()
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    watchdog = threading.Timer(timeout, kill_on_timeout)
    watchdog.daemon = True
    watchdog.start()
    peak = _PeakRSS(proc.pid)
    peak.start()
    first_line_at = None
    try:
        if callback is not None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if first_line_at is None:
                    first_line_at = time.monotonic() - started
                callback(line)
            proc.stdout.close()
        _, status, rusage = os.wait4(proc.pid, 0)
        ended = time.monotonic()
    finally:
        watchdog.cancel()
        peak.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr_text = stderr_path.read_bytes().decode("utf-8", "replace")
    stderr_path.unlink()
    work.rmdir()
    if timed_out.is_set():
        stderr_text += f"\n(killed by the bench after {timeout:.0f} s)"
    return Usage(
        command=" ".join(str(a) for a in args),
        returncode=proc.returncode,
        wall=ended - started,
        user=rusage.ru_utime,
        sys=rusage.ru_stime,
        max_rss_mb=peak.kib / 1024,
        stderr_tail=stderr_text[-4000:],
        first_line_at=first_line_at,
    )


class _PeakRSS(threading.Thread):
    """The child's own peak RSS, polled from /proc/<pid>/status (VmHWM, the high-water mark of its memory).

    Not `wait4`'s ru_maxrss: Linux carries the parent's peak over into a child that `exec`s (the forked
    copy of the parent's memory counts), so a child of this bench, which holds the records it compares,
    would report the bench's own peak. VmHWM only grows, so the last reading is the peak up to then;
    growth in the last poll interval before exit is missed.
    """

    INTERVAL = 0.02

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.kib = 0
        self._path = Path(f"/proc/{pid}/status")

    def run(self) -> None:
        while True:
            try:
                status = self._path.read_text()
            except (FileNotFoundError, ProcessLookupError):
                return  # reaped
            hwm = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
            if hwm is None:
                return  # a zombie: its memory is gone, the peak is in
            self.kib = max(self.kib, int(hwm.split()[1]))
            time.sleep(self.INTERVAL)


@dataclass
class SandboxProcess:
    """`python -m orderdesk_sandbox` in its own process, driven over its admin API."""

    orders: int
    seed: int = 1
    rate_limit: bool = True
    start_timeout: float = 300.0
    url: str = ""
    config_path: Path = field(default_factory=Path)
    _proc: Optional[subprocess.Popen] = None
    _work: Optional[Path] = None

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._work = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
        self.config_path = self._work / "config.json"
        args = [PYTHON, "-m", "orderdesk_sandbox", "--orders", str(self.orders), "--seed", str(self.seed), "--port", "0"]
        args += ["--write-config", str(self.config_path)]
        if not self.rate_limit:
            args.append("--no-rate-limit")
        self._stderr = open(self._work / "stderr", "wb")
        self._proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        lines = self._read_lines_until("ORDERDESK_SANDBOX_CONFIG=", deadline)
        for line in lines:
            if line.startswith("ORDERDESK_SANDBOX_URL="):
                self.url = line.split("=", 1)[1].strip()
        if not self.url or not self.config_path.exists():
            raise BenchError(f"the sandbox printed no URL/config: {lines}")

    def _read_lines_until(self, marker: str, deadline: float) -> list[str]:
        assert self._proc is not None and self._proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self._proc.stdout, selectors.EVENT_READ)
        buffer, lines = b"", []
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BenchError(f"the sandbox ({self.orders} orders) was not ready after {self.start_timeout:.0f} s")
                if not selector.select(timeout=min(remaining, 1.0)):
                    if self._proc.poll() is not None:
                        raise BenchError(f"the sandbox exited with code {self._proc.returncode}: {self._stderr_tail()}")
                    continue
                chunk = os.read(self._proc.stdout.fileno(), 65536)
                if not chunk:
                    self._proc.wait(5)
                    raise BenchError(f"the sandbox exited with code {self._proc.returncode}: {self._stderr_tail()}")
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    lines.append(line.decode())
                    if lines[-1].startswith(marker):
                        return lines
        finally:
            selector.close()

    def _stderr_tail(self) -> str:
        assert self._work is not None
        self._stderr.flush()
        return (self._work / "stderr").read_bytes().decode("utf-8", "replace")[-1500:]

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def admin_base(self) -> str:
        return self.url.split("/api/", 1)[0] + "/_sandbox/"

    def admin(self, name: str, body: Optional[dict] = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.admin_base + name, data=data, method="GET" if body is None else "POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self.admin("stats")

    def reset_stats(self) -> None:
        """Zero the counters and refill the token bucket, so each measured run starts alike."""
        self.admin("reset_stats", {})

    def expected_counts(self) -> dict[str, int]:
        return self.admin("expected_counts")

    def cpu_seconds(self) -> float:
        """The server's own CPU so far (user + sys), from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def config(self, **overrides: object) -> dict:
        return {**json.loads(self.config_path.read_text()), **overrides}

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        if self._work is not None:
            self._stderr.close()
            for path in self._work.iterdir():
                path.unlink()
            self._work.rmdir()
            self._work = None
