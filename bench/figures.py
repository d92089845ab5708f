"""The five figures. Each returns table rows; details for RESULTS.md collect in `Bench.notes`."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from bench.airbyte_io import (
    OutputSummary,
    catalog,
    compare_records,
    first_record_difference,
    state_file_value,
    write_json,
)
from bench.procs import BenchError, SandboxProcess, Usage, run_measured
from bench.report import Row, pct
from orderdesk_sandbox.tables import ORDER_TABLES

MAIN = "main.py"
FLOOR = "bench/floor.py"

TARGET_REQUEST_RATIO = 1.1
TARGET_WALL_RATIO = 1.1
TARGET_ORDERS_PER_CPU_SECOND = 4500
TARGET_FLOOR_RATIO = 2.0
TARGET_RSS_GROWTH = 0.10
TARGET_RSS_MB = 200
SERVER_BURST, SERVER_REFILL = 20, 3.0


@dataclass(frozen=True)
class Sizes:
    cpu_orders: int  # figures 1 and 3, limiting off
    rate_orders: int  # figures 2 and 5, limiting on
    rate_page_size: int
    memory_orders: tuple[int, int]  # figure 4
    change_share: float  # figure 5
    repeat: int  # timed connector/floor pairs in figure 3 (the lowest CPU of each is reported)
    profile: bool


# Figure 2's store: 200 pages, so that the connector's fixed start-up (about 1.5 s) weighs on a long sync as it would.
FULL = Sizes(50_000, 100_000, 500, (10_000, 100_000), 0.01, 2, True)
QUICK = Sizes(3_000, 2_500, 50, (1_000, 10_000), 0.01, 1, True)


def verdict(met: bool, miss: str = "") -> str:
    return "met" if met else f"**missed**{': ' + miss if miss else ''}"


@dataclass
class Bench:
    sizes: Sizes
    work: Path
    python: str  # runs the connector and the floor (bench.procs.runtime_python)
    seed: int = 1
    notes: list[str] = field(default_factory=list)
    profile_md: str = ""
    startup_cpu: Optional[float] = None
    floor_startup_cpu: Optional[float] = None
    rate_full: Optional[dict] = None  # figure 2's sync, which figure 5 compares against

    # ------------------------------------------------------------------ helpers

    def _file(self, name: str, value: object) -> Path:
        return write_json(self.work / name, value)

    def connector(
        self,
        config: Path,
        streams: tuple[str, ...] = ORDER_TABLES,
        stdout: object = "devnull",
        state: Optional[dict] = None,
        label: str = "",
    ) -> Usage:
        args = [
            self.python,
            MAIN,
            "read",
            "--config",
            str(config),
            "--catalog",
            str(self._file(f"catalog-{len(streams)}.json", catalog(streams))),
        ]
        if state is not None:
            args += ["--state", str(self._file("state.json", state_file_value(state)))]
        return run_measured(args, stdout=stdout).check(f"the connector ({label or 'read'})")

    def floor(self, config: Path, stdout: object = "devnull") -> tuple[Usage, dict]:
        usage = run_measured([self.python, FLOOR, "--config", str(config)], stdout=stdout).check("the floor program")
        report = json.loads(usage.stderr_tail.strip().splitlines()[-1])
        return usage, report

    @staticmethod
    def orders_requests(sandbox: SandboxProcess) -> tuple[int, dict]:
        stats = sandbox.stats()
        return int(stats["requests_by_path"].get("/orders", 0)), stats

    # ------------------------------------------------------------------ start-up

    @staticmethod
    def _least_cpu(args: list[str], what: str, runs: int = 2) -> Usage:
        return min((run_measured(args).check(what) for _ in range(runs)), key=lambda usage: usage.cpu)

    def startup(self) -> list[Row]:
        spec = self._least_cpu([self.python, MAIN, "spec"], "python main.py spec")
        floor = self._least_cpu([self.python, FLOOR, "--startup-only"], "the floor's start-up")
        self.startup_cpu, self.floor_startup_cpu = spec.cpu, floor.cpu
        return [
            Row(
                "3",
                "connector start-up alone (`python main.py spec`)",
                f"{spec.cpu:.2f} CPU-s (user {spec.user:.2f} + sys {spec.sys:.2f}), {spec.max_rss_mb:.0f} MB RSS; "
                f"floor start-up {floor.cpu:.2f} CPU-s",
            )
        ]

    # ------------------------------------------------------------------ figures 1 and 3

    def requests_and_cpu(self) -> list[Row]:
        n = self.sizes.cpu_orders
        rows: list[Row] = []
        with SandboxProcess(n, self.seed, rate_limit=False) as sandbox:
            config = self._file("cpu-config.json", sandbox.config())
            page_size = int(sandbox.config().get("page_size") or 500)
            expected = sandbox.expected_counts()

            # Figure 1: the same sync for eight tables and for orders alone, counted at the server.
            connector_out = self.work / "connector-8.jsonl"
            sandbox.reset_stats()
            self.connector(config, stdout=connector_out, label="8 tables, counted")
            eight, eight_stats = self.orders_requests(sandbox)
            counted = OutputSummary.of_file(connector_out)
            if counted.errors:
                raise BenchError(f"the connector reported errors: {counted.errors[:3]}")
            sandbox.reset_stats()
            self.connector(config, streams=("orders",), label="orders alone")
            alone, _ = self.orders_requests(sandbox)
            ideal = math.ceil(n / page_size)
            ratio = eight / ideal
            tests = eight_stats["requests_by_path"].get("/test", 0)
            rows.append(
                Row(
                    "1",
                    f"`/orders` requests, full sync of all 8 order tables, {n:,} orders, page {page_size}",
                    f"{eight} vs ceil({n:,}/{page_size}) = {ideal} → {ratio:.2f}× (+ {tests} `/test`)",
                    f"≤ {TARGET_REQUEST_RATIO}×",
                    verdict(ratio <= TARGET_REQUEST_RATIO, f"{ratio / TARGET_REQUEST_RATIO - 1:.0%} over"),
                )
            )
            rows.append(
                Row(
                    "1",
                    "`/orders` requests, the same sync of `orders` alone",
                    f"{alone} (8 tables: {eight})",
                    "same count",
                    verdict(alone == eight, f"{eight - alone:+d} requests for eight tables"),
                )
            )

            # The floor: same requests, same rows; checked record by record against the connector's output.
            floor_out = self.work / "floor.jsonl"
            sandbox.reset_stats()
            _, floor_report = self.floor(config, stdout=floor_out)
            floor_requests, _ = self.orders_requests(sandbox)
            difference = compare_records(connector_out, floor_out)
            if difference:
                stream = difference.split(":", 1)[0]
                sample = first_record_difference(connector_out, floor_out, stream)
                raise BenchError(f"the floor's records differ from the connector's: {difference}. Sample: {sample}")
            mismatched = {
                s: (counted.records.get(s, 0), c)
                for s, c in expected.items()
                if s in ORDER_TABLES and counted.records.get(s, 0) != c
            }
            if mismatched:
                raise BenchError(f"the connector's record counts differ from the store's (got, expected): {mismatched}")
            self.notes.append(
                "Records per stream (connector = floor = the sandbox's expected count): "
                + ", ".join(f"{s} {counted.records[s]:,}" for s in ORDER_TABLES)
                + f"; total {counted.total:,}. The floor made {floor_requests} `/orders` requests, the connector {eight}."
            )
            for path in (connector_out, floor_out):
                path.unlink()

            # Figure 3: timed pairs, output to /dev/null, each run with its own sandbox CPU.
            pairs = []
            for _ in range(self.sizes.repeat):
                sandbox.reset_stats()
                before = sandbox.cpu_seconds()
                ours = self.connector(config, label="8 tables, timed")
                ours_server = sandbox.cpu_seconds() - before
                ours_requests, _ = self.orders_requests(sandbox)
                sandbox.reset_stats()
                before = sandbox.cpu_seconds()
                floors, report = self.floor(config)
                floors_server = sandbox.cpu_seconds() - before
                if sum(report["records"].values()) != counted.total:
                    raise BenchError(f"the floor wrote {report['records']} records, the connector {dict(counted.records)}")
                pairs.append((ours, ours_server, ours_requests, floors, floors_server))
            ours, ours_server, ours_requests, _, _ = min(pairs, key=lambda p: p[0].cpu)
            _, _, _, floors, floors_server = min(pairs, key=lambda p: p[3].cpu)
            rate = n / ours.cpu
            steady = n / (ours.cpu - self.startup_cpu) if self.startup_cpu and ours.cpu > self.startup_cpu else None
            per_record_ratio = ours.cpu / floors.cpu
            steady_ratio = None
            if self.startup_cpu and self.floor_startup_cpu is not None:
                steady_ratio = (ours.cpu - self.startup_cpu) / max(floors.cpu - self.floor_startup_cpu, 1e-9)
            rows += [
                Row(
                    "3",
                    f"connector CPU, full sync of 8 tables, {n:,} orders → {counted.total:,} records to /dev/null",
                    f"{ours.cpu:.2f} s (user {ours.user:.2f} + sys {ours.sys:.2f}); wall {ours.wall:.1f} s; "
                    f"sandbox CPU meanwhile {ours_server:.1f} s; {ours_requests} `/orders` requests",
                ),
                Row(
                    "3",
                    "floor CPU (`bench/floor.py`), same requests and rows",
                    f"{floors.cpu:.2f} s (user {floors.user:.2f} + sys {floors.sys:.2f}); wall {floors.wall:.1f} s; "
                    f"sandbox CPU meanwhile {floors_server:.1f} s; {floor_requests} `/orders` requests"
                    + ("" if floor_requests == eight else f" (**not** the connector's {eight}: its paging changed?)"),
                ),
                Row(
                    "3",
                    "records written, connector vs floor",
                    f"{counted.total:,} vs {sum(report['records'].values()):,}, identical record by record in every stream",
                    "equal",
                    verdict(sum(report["records"].values()) == counted.total),
                ),
                Row(
                    "3",
                    "orders per connector CPU-second (start-up included)",
                    f"{rate:,.0f}"
                    + (f" (steady state without the {self.startup_cpu:.1f} s start-up: {steady:,.0f})" if steady else ""),
                    f"≥ {TARGET_ORDERS_PER_CPU_SECOND:,}",
                    verdict(rate >= TARGET_ORDERS_PER_CPU_SECOND, f"{rate / TARGET_ORDERS_PER_CPU_SECOND - 1:.0%}"),
                ),
                Row(
                    "3",
                    "connector CPU per record ÷ floor CPU per record",
                    f"{per_record_ratio:.2f}×" + (f" (start-ups excluded: {steady_ratio:.2f}×)" if steady_ratio else ""),
                    f"≤ {TARGET_FLOOR_RATIO:g}×",
                    verdict(per_record_ratio <= TARGET_FLOOR_RATIO, f"{per_record_ratio / TARGET_FLOOR_RATIO - 1:.0%} over"),
                ),
            ]
            if self.sizes.repeat > 1:
                self.notes.append(
                    "Figure 3 timed pairs (connector CPU / floor CPU, s): "
                    + ", ".join(f"{p[0].cpu:.2f} / {p[3].cpu:.2f}" for p in pairs)
                    + "; the lowest of each is reported."
                )
            self.notes.append(
                f"Figure 3 peak RSS: connector {ours.max_rss_mb:.0f} MB, floor {floors.max_rss_mb:.0f} MB. The connector's wall "
                "time there is set by its own token bucket (it paces every sync at Order Desk's rate, limiting on the "
                "server or not), so only its CPU time compares with the floor's."
            )
            if self.sizes.profile:
                self.profile_md = self._profile(config, ours.cpu)
        return rows

    def _profile(self, config: Path, unprofiled_cpu: float) -> str:
        from bench.cpu_profile import markdown, profile_read

        read_args = [MAIN, "read", "--config", str(config), "--catalog", str(self._file("catalog-8.json", catalog(ORDER_TABLES)))]
        return markdown(profile_read(self.python, read_args, self.work), unprofiled_cpu, self.startup_cpu)

    # ------------------------------------------------------------------ figure 4

    def memory(self) -> list[Row]:
        small, large = self.sizes.memory_orders
        peaks = {}
        for n in (small, large):
            with SandboxProcess(n, self.seed, rate_limit=False) as sandbox:
                config = self._file(f"memory-{n}.json", sandbox.config())
                usage = self.connector(config, label=f"memory, {n:,} orders")
                peaks[n] = usage
        growth = peaks[large].max_rss_mb / peaks[small].max_rss_mb - 1
        top = max(u.max_rss_mb for u in peaks.values())
        ok = growth < TARGET_RSS_GROWTH and top < TARGET_RSS_MB
        return [
            Row(
                "4",
                f"connector peak RSS, full sync of 8 tables at {small:,} / {large:,} orders",
                f"{peaks[small].max_rss_mb:.0f} MB / {peaks[large].max_rss_mb:.0f} MB ({pct(growth)}); "
                f"CPU {peaks[small].cpu:.1f} s / {peaks[large].cpu:.1f} s",
                f"growth < {TARGET_RSS_GROWTH:.0%}, < {TARGET_RSS_MB} MB",
                verdict(ok, f"{pct(growth)} growth, peak {top:.0f} MB"),
            )
        ]

    # ------------------------------------------------------------------ figures 2 and 5

    def rate_limited(self) -> list[Row]:
        n, page_size = self.sizes.rate_orders, self.sizes.rate_page_size
        rows: list[Row] = []
        with SandboxProcess(n, self.seed, rate_limit=True) as sandbox:
            overrides = {} if page_size == 500 else {"page_size": page_size}
            config = self._file("rate-config.json", sandbox.config(**overrides))
            sandbox.reset_stats()
            full_out = OutputSummary()
            full = self.connector(config, stdout=full_out.feed, label="rate-limited full sync")
            stats = sandbox.stats()
            if full_out.errors:
                raise BenchError(f"the connector reported errors: {full_out.errors[:3]}")
            total = int(stats["requests_total"])
            minimum = max(total - SERVER_BURST, 0) / SERVER_REFILL
            ratio = full.wall / minimum if minimum else float("nan")  # the whole process, start-up included
            by_path = ", ".join(f"`{p}` {c}" for p, c in sorted(stats["requests_by_path"].items()))
            rows += [
                Row(
                    "2",
                    f"429s served, rate limit on (burst {SERVER_BURST}, {SERVER_REFILL:g}/s), {n:,} orders, page {page_size}",
                    f"{stats['served_429']} ({stats['rate_limited']} from the limiter)",
                    "0",
                    verdict(stats["served_429"] == 0, f"{stats['served_429']} served"),
                ),
                Row(
                    "2",
                    "rate-limited wall time vs the minimum (requests − 20)/3 s",
                    f"{full.wall:.1f} s, process start to exit (first output to exit: {full.sync_wall:.1f} s) "
                    f"vs ({total} − 20)/3 = "
                    f"{minimum:.1f} s → {ratio:.2f}×; requests: {by_path}",
                    f"≤ {TARGET_WALL_RATIO}×",
                    verdict(ratio <= TARGET_WALL_RATIO, f"{ratio / TARGET_WALL_RATIO - 1:.0%} over"),
                ),
            ]
            self.rate_full = {
                "requests": total,
                "orders_requests": stats["requests_by_path"].get("/orders", 0),
                "wall": full.sync_wall,
            }

            # Figure 5: change 1% of the orders, then sync again from the full sync's final state.
            changed = max(1, round(n * self.sizes.change_share))
            touched = sandbox.admin("mutate", {"modify": changed})
            time.sleep(1.0)  # the changes carry the server's current second; the next sync's clock must be past it
            sandbox.reset_stats()
            incremental_out = OutputSummary()
            incremental = self.connector(config, stdout=incremental_out.feed, state=full_out.states, label="incremental sync")
            stats = sandbox.stats()
            if incremental_out.errors:
                raise BenchError(f"the incremental sync reported errors: {incremental_out.errors[:3]}")
            orders_requests = stats["requests_by_path"].get("/orders", 0)
            modified = len(touched["modified"])
            needed = math.ceil(modified / page_size)
            bound = 2 * needed + 2
            reread = incremental_out.records.get("orders", 0)
            rows += [
                Row(
                    "5",
                    f"incremental sync after {modified:,} of {n:,} orders changed ({self.sizes.change_share:.0%}), "
                    "from the full sync's final state",
                    f"{orders_requests} `/orders` + {stats['requests_by_path'].get('/test', 0)} `/test` requests "
                    f"(full sync: {self.rate_full['orders_requests']} `/orders`); {reread:,} orders re-read; "
                    f"wall {incremental.sync_wall:.1f} s (full: {self.rate_full['wall']:.1f} s)",
                    f"∝ changed orders, not the store's {math.ceil(n / page_size)} pages: ≤ 2 × ceil({modified}/{page_size}) + 2 "
                    f"= {bound} (a bulk second is read twice; + the sort probe)",
                    verdict(
                        orders_requests <= bound, f"{orders_requests} requests, {orders_requests / bound:.1f}× the bound {bound}"
                    ),
                )
            ]
            self.notes.append(
                f"Figure 5: the incremental sync wrote {incremental_out.total:,} records "
                f"({', '.join(f'{s} {c:,}' for s, c in incremental_out.records.items())}); "
                f"{stats['served_429']} 429s served."
            )
        return rows
