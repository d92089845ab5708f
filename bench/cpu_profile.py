"""Where the connector's CPU goes: one read profiled, summarised by stage, package and function.

With `py-spy` on PATH (`pip install py-spy`), the read is sampled (only samples that hold the GIL,
so waits for the server or the rate budget do not count, and Python's own speed is unchanged). Without it, the read runs under
cProfile, whose per-call cost inflates small, often-called functions: read its shares with care.

    python -m bench.cpu_profile OUT.prof main.py read ...   # the cProfile back-end (CPU clock)
"""

from __future__ import annotations

import cProfile
import pstats
import re
import runpy
import shutil
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from bench.procs import run_measured

# (file fragment, function name, title): the sync's stages, as inclusive shares of the sync's CPU.
STAGES = (
    ("source_orderdesk/order_pass.py", "_read", "the order pass (everything below, plus message objects)"),
    ("source_orderdesk/streams.py", "pages", "  fetching pages: HTTP client, JSON decoding, paging"),
    ("source_orderdesk/api.py", "response_json", "    of which JSON decoding (orjson.loads)"),
    ("source_orderdesk/rows.py", "rows", "  payload → typed rows (OrderRows.rows)"),
    # run.py stands in for the CDK entrypoint's per-record counting and serialising (see fast_record_output)
    ("source_orderdesk/run.py", "count_records", "entrypoint: counting records (run.py)"),
    ("source_orderdesk/run.py", "message_to_output", "entrypoint: writing records as JSON (run.py, orjson)"),
    ("airbyte_cdk/utils/memory_monitor.py", "check_memory_usage", "CDK entrypoint: memory monitor"),
    ("source_orderdesk/run.py", "write_record", "stdout buffer (run.py, in place of the CDK's print buffer)"),
)
_SITE = re.compile(r"site-packages/([^/]+)/")
_SHORT_PATH = re.compile(r"^.*?(site-packages/|/work/main/|/lib/python3[.]\d+/)")


def package_of(filename: str, function: str = "") -> str:
    if filename == "~":  # cProfile's C functions
        if "orjson" in function:
            return "orjson (C)"
        if "serpyco" in function:
            return "serpyco_rs (C)"
        if "socket" in function or "select" in function:
            return "sockets (C)"
        return "C built-ins (dict, str, isinstance, ...)"
    if "source_orderdesk" in filename:
        return "source_orderdesk"
    site = _SITE.search(filename)
    if site:
        return site.group(1)
    if filename.startswith("airbyte_cdk") or "/" in filename and filename.split("/")[0] in ("requests", "urllib3", "serpyco_rs"):
        return filename.split("/")[0]
    return "standard library / interpreter"


@dataclass
class Profile:
    backend: str
    sync_total: float  # samples or seconds inside the entrypoint's run (the command itself)
    startup_total: float  # outside it: imports and set-up
    stages: list[tuple[str, float]] = field(default_factory=list)  # (title, inclusive share of the sync)
    packages: list[tuple[str, float]] = field(default_factory=list)  # (package, own share of the sync)
    functions: list[tuple[str, float]] = field(default_factory=list)  # (function, own share of the sync)


# ---------------------------------------------------------------------------------------- py-spy


def _frame(text: str) -> tuple[str, str]:
    """`OrderPass._read (source_orderdesk/order_pass.py:104)` → (`OrderPass._read`, `source_orderdesk/order_pass.py`)."""
    match = re.match(r"(.*) \((.*?)(?::\d+)?\)$", text)
    return (match.group(1), match.group(2)) if match else (text, "")


def from_pyspy(raw: Path, top: int = 20) -> Profile:
    sync, startup = 0, 0
    own: Counter = Counter()
    packages: Counter = Counter()
    stages: Counter = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [_frame(f) for f in stack.split(";")]
        weight = int(count)
        if not any(name == "AirbyteEntrypoint.run" for name, _ in frames):
            startup += weight
            continue
        sync += weight
        name, file = frames[-1]
        own[f"{name} ({file})"] += weight
        packages[package_of(file)] += weight
        for title_index, (fragment, function, _) in enumerate(STAGES):
            if any(file.endswith(fragment) and (name == function or name.endswith("." + function)) for name, file in frames):
                stages[title_index] += weight
    total = max(sync, 1)
    return Profile(
        "py-spy (sampling; only samples holding the GIL, so waits do not count)",
        sync,
        startup,
        [(STAGES[i][2], stages[i] / total) for i in range(len(STAGES))],
        [(name, count / total) for name, count in packages.most_common(10)],
        [(name, count / total) for name, count in own.most_common(top)],
    )


# ---------------------------------------------------------------------------------------- cProfile


def from_cprofile(path: Path, top: int = 20) -> Profile:
    entries = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]

    def label(key: tuple) -> str:
        filename, _, function = key
        if filename == "~":
            return function
        return f"{function} ({_SHORT_PATH.sub('', filename)})"

    run = [v for k, v in entries.items() if k[0].endswith("airbyte_cdk/entrypoint.py") and k[2] == "run"]
    total_all = sum(v[2] for v in entries.values())
    sync = max((v[3] for v in run), default=total_all)
    packages: dict[str, float] = defaultdict(float)
    for key, value in entries.items():
        packages[package_of(key[0], key[2])] += value[2]
    stages = []
    for fragment, function, title in STAGES:
        matches = [v[3] for k, v in entries.items() if k[0].endswith(fragment) and k[2] == function]
        stages.append((title, max(matches, default=0.0) / sync))
    functions = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return Profile(
        "cProfile (deterministic, CPU clock; inflates small functions; package and function shares include start-up)",
        sync,
        total_all - sync,
        stages,
        [(name, seconds / total_all) for name, seconds in sorted(packages.items(), key=lambda item: -item[1])[:10]],
        [(label(key), value[2] / total_all) for key, value in functions],
    )


# ---------------------------------------------------------------------------------------- running


def pyspy() -> Optional[str]:
    """py-spy from the bench's own environment (`make bench` installs it there), else from PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def profile_read(python: str, read_args: list[str], work: Path) -> Profile:
    """Profiles `python main.py read ...` (read_args start at `main.py`) run by `python`."""
    spy = pyspy()
    if spy:
        raw = work / "connector.pyspy.txt"
        # --gil: only samples holding the GIL, so sleeping in the rate budget and waiting on the socket don't count
        args = [spy, "record", "--gil", "--rate", "200", "--format", "raw", "--output", str(raw), "--", python, *read_args]
        run_measured(args).check("py-spy record of the connector read")
        return from_pyspy(raw)
    prof = work / "connector.prof"
    run_measured([python, "-m", "bench.cpu_profile", str(prof), *read_args]).check("the profiled connector read")
    return from_cprofile(prof)


def markdown(profile: Profile, unprofiled_cpu: float, startup_cpu: Optional[float]) -> str:
    unit = "samples" if profile.backend.startswith("py-spy") else "s"
    startup_share = profile.startup_total / max(profile.startup_total + profile.sync_total, 1e-9)
    lines = [
        f"Profiler: {profile.backend}. The read took {unprofiled_cpu:.1f} CPU-s unprofiled"
        + (f", of which start-up {startup_cpu:.1f} s (`spec`)" if startup_cpu else "")
        + f"; in the profile, start-up (imports, before the entrypoint runs) is {startup_share:.0%} "
        f"({profile.startup_total:,.0f} {unit}) and the sync itself {profile.sync_total:,.0f} {unit}.",
        "Shares below are of the sync itself (the entrypoint's `run`), start-up excluded.",
        "",
        "| stage (inclusive) | share of the sync |",
        "| --- | --- |",
    ]
    for title, share in profile.stages:
        shown = "↳ " * ((len(title) - len(title.lstrip())) // 2) + title.strip()
        lines.append(f"| {shown} | {share:.0%} |")
    lines += ["", "| own time by package | share |", "| --- | --- |"]
    lines += [f"| {name} | {share:.0%} |" for name, share in profile.packages]
    lines += ["", "| top functions by own time | share |", "| --- | --- |"]
    lines += [f"| `{name}` | {share:.1%} |" for name, share in profile.functions]
    return "\n".join(lines)


def main() -> int:
    """The cProfile back-end: `python -m bench.cpu_profile OUT.prof main.py read ...` with a CPU clock."""
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, script = sys.argv[1], sys.argv[2]
    sys.argv = sys.argv[2:]
    profiler = cProfile.Profile(time.process_time)
    code: object = 0
    try:
        profiler.runcall(runpy.run_path, script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code
    finally:
        profiler.dump_stats(out)
    return code if isinstance(code, int) else 1


if __name__ == "__main__":
    sys.exit(main())
