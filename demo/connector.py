"""Run the connector's `spec`, `check` and `discover` as a subprocess, the way Airbyte runs them.

Each command's stdout is a stream of Airbyte protocol messages (one JSON object per line). Only the
message that answers the command is kept, plus any error TRACE, which becomes a `ConnectorError`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `check` retries once and `discover` makes no request, so these are generous upper bounds.
COMMAND_TIMEOUT_SECONDS = 180


class ConnectorError(RuntimeError):
    """The connector could not answer a command; the message is fit to show to the user."""


@dataclass
class CommandResult:
    command: str
    message: dict[str, Any]  # the protocol message that answers the command
    seconds: float


def find_executable() -> Path:
    """The `source-orderdesk` console script of this Python environment (the venv's, under `make demo`)."""
    beside_python = Path(sys.executable).parent / "source-orderdesk"  # not resolved: the venv's bin, not the base's
    if beside_python.is_file():
        return beside_python
    on_path = shutil.which("source-orderdesk")
    if on_path:
        return Path(on_path)
    raise ConnectorError(
        "The `source-orderdesk` command is not installed in this Python environment. "
        "Run `make demo` (it installs it), or `pip install -e '.[demo]'` from the repository root."
    )


def run_command(executable: Path, command: str, config_path: Path | None = None) -> CommandResult:
    """Runs `source-orderdesk <command> [--config PATH]` and returns the message that answers it."""
    args = [str(executable), command]
    if config_path is not None:
        args += ["--config", str(config_path)]
    started = time.monotonic()
    try:
        completed = subprocess.run(
            args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False
        )
    except subprocess.TimeoutExpired:
        raise ConnectorError(f"`source-orderdesk {command}` did not finish within {COMMAND_TIMEOUT_SECONDS} s.") from None
    seconds = time.monotonic() - started
    wanted = {"spec": "SPEC", "check": "CONNECTION_STATUS", "discover": "CATALOG"}[command]
    answer, error = None, None
    for line in completed.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue  # the protocol allows nothing else on stdout, but a stray print must not hide the answer
        if not isinstance(message, dict):
            continue
        if message.get("type") == wanted:
            answer = message
        elif message.get("type") == "TRACE" and (message.get("trace") or {}).get("type") == "ERROR":
            error = error or (message["trace"].get("error") or {}).get("message")
    if error:
        raise ConnectorError(f"`source-orderdesk {command}` failed: {error}")
    if answer is None:
        detail = _last_lines(completed.stderr) or _last_lines(completed.stdout) or "no output"
        raise ConnectorError(
            f"`source-orderdesk {command}` exited with code {completed.returncode} without a {wanted} message: {detail}"
        )
    return CommandResult(command, answer, seconds)


def summarize(result: CommandResult) -> str:
    """One line about what the command answered."""
    if result.command == "spec":
        spec = result.message["spec"].get("connectionSpecification", {})
        properties = spec.get("properties", {})
        secrets = sorted(name for name, prop in properties.items() if isinstance(prop, dict) and prop.get("airbyte_secret"))
        return (
            f"{len(properties)} config fields ({', '.join(properties)}); required: {', '.join(spec.get('required', []))}; "
            f"secret: {', '.join(secrets) or 'none'}"
        )
    if result.command == "check":
        status = result.message["connectionStatus"]
        text = status.get("status", "?")
        return text if not status.get("message") else f"{text}: {status['message']}"
    streams = result.message["catalog"].get("streams", [])
    incremental = [s["name"] for s in streams if "incremental" in s.get("supported_sync_modes", [])]
    full_only = [s["name"] for s in streams if "incremental" not in s.get("supported_sync_modes", [])]
    return (
        f"{len(streams)} streams: {len(incremental)} incremental ({', '.join(incremental)}); "
        f"full refresh only: {', '.join(full_only)}"
    )


def check_succeeded(result: CommandResult) -> bool:
    return result.message.get("connectionStatus", {}).get("status") == "SUCCEEDED"


def _last_lines(text: str, count: int = 5) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return " | ".join(lines[-count:])
