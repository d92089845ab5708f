"""`python -m bench [--quick]`: run the figures, print one table, write bench/RESULTS.md (full runs)."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from bench.figures import FULL, QUICK, Bench
from bench.procs import ROOT, BenchError, runtime_python
from bench.report import Row, machine_block, machine_description, table, write_results

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small stores: a smoke run of about a minute")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run of the connector")
    parser.add_argument("--repeat", type=int, help="timed connector/floor pairs for figure 3 (default: 2 full, 1 quick)")
    parser.add_argument(
        "--only", help="comma-separated steps to run: startup, cpu (figures 1, 3), rate (figures 2, 5), memory (figure 4)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the results (default: bench/RESULTS.md for a full run of every step; none otherwise)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeat or args.no_profile:
        sizes = type(sizes)(**{**sizes.__dict__, "repeat": args.repeat or sizes.repeat, "profile": not args.no_profile})
    work = ROOT / ".tmp" / "bench"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    bench = Bench(sizes, work, runtime_python())
    bench.notes.append(
        "The connector and the floor run in an environment holding only the connector's runtime dependencies "
        "(`.tmp/bench-runtime`, installed from setup.py with constraints.txt), as the Docker image does."
    )
    machine = machine_description()
    print(
        f"source-orderdesk benchmark ({'quick' if args.quick else 'full'} run) on {machine['CPU']}, {machine['cores']} cores",
        flush=True,
    )

    rows: list[Row] = []
    failures: list[str] = []
    steps: list[tuple[str, str, Callable[[], list[Row]]]] = [
        ("startup", "start-up", bench.startup),
        ("cpu", f"figures 1 and 3: requests and CPU ({sizes.cpu_orders:,} orders, limiting off)", bench.requests_and_cpu),
        ("rate", f"figures 2 and 5: rate-limited full sync and incremental ({sizes.rate_orders:,} orders)", bench.rate_limited),
        ("memory", f"figure 4: peak RSS ({sizes.memory_orders[0]:,} and {sizes.memory_orders[1]:,} orders)", bench.memory),
    ]
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        unknown = wanted - {key for key, _, _ in steps}
        if unknown:
            print(f"unknown steps: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        steps = [step for step in steps if step[0] in wanted]
    started = time.monotonic()
    for _, name, step in steps:
        print(f"[{time.monotonic() - started:5.0f} s] {name} ...", flush=True)
        try:
            rows += step()
        except BenchError as error:
            failures.append(f"{name}: {error}")
            rows.append(Row("-", name, "not measured", "", f"FAILED: {str(error)[:300]}"))
        except Exception as error:  # a bug in the bench itself: say where, keep going with the other figures
            failures.append(f"{name}: {error!r}\n{traceback.format_exc()}")
            rows.append(Row("-", name, "not measured", "", f"FAILED (bench error): {error!r}"[:300]))
    elapsed = time.monotonic() - started
    rows.sort(key=lambda row: row.figure)

    result_table = table(rows)
    print()
    print(result_table)
    print(f"\n(bench took {elapsed:.0f} s)")
    for note in bench.notes:
        print(f"- {note}")
    if bench.profile_md:
        print("\nWhere the connector's CPU goes:\n" + bench.profile_md)
    for failure in failures:
        print(f"\nFAILED {failure}", file=sys.stderr)

    output = args.output or (None if args.quick or args.only else RESULTS)
    if output is not None:
        generated = "\n\n".join(
            part
            for part in (
                f"## Figures ({'quick' if args.quick else 'full'} run, {elapsed:.0f} s)",
                machine_block(machine),
                result_table,
                "\n".join(f"- {note}" for note in bench.notes),
                f"### Where the connector's CPU goes (one profiled read of figure 3's sync)\n\n{bench.profile_md}"
                if bench.profile_md
                else "",
                "\n".join(f"- FAILED {failure.splitlines()[0]}" for failure in failures),
            )
            if part
        )
        write_results(output, generated)
        print(f"\nwrote {output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
