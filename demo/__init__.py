"""`make demo` (`python -m demo`): the connector end to end, from a local Order Desk sandbox into DuckDB.

The job starts a sandbox store, runs the connector's `spec`, `check` and `discover` the way Airbyte
runs them (as a subprocess), syncs every stream into `demo_output/orderdesk.duckdb` through PyAirbyte,
changes some orders, syncs again incrementally, and prints what each sync did. `--config PATH` runs
the same job against a real store instead (no sandbox, no changes made to the store).

Modules: `cli` (the job and its options), `connector` (spec/check/discover as a subprocess),
`pipeline` (the PyAirbyte syncs), `report` (the final table), `query` (`python -m demo.query SQL`).
"""
