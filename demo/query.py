"""`python -m demo.query [--db PATH] "SQL"`: run one query against the demo's DuckDB file (read-only) and print it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

DEFAULT_DB = Path("demo_output") / "orderdesk.duckdb"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.query", description=__doc__)
    parser.add_argument("sql", help='one SQL statement, e.g. "SELECT count(*) FROM orders"')
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"the DuckDB file (default {DEFAULT_DB})")
    parser.add_argument("--max-rows", type=int, default=40, help="rows to print at most (default 40)")
    args = parser.parse_args(argv)
    if not args.db.is_file():
        print(f"No DuckDB file at {args.db}: run `make demo` first.", file=sys.stderr)
        return 1
    import duckdb

    try:
        with duckdb.connect(str(args.db), read_only=True) as connection:
            relation = connection.sql(args.sql)
            if relation is None:
                print("OK (no rows returned)")
            else:
                relation.show(max_rows=args.max_rows)
    except duckdb.Error as error:
        print(f"DuckDB: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # piped into `head`
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
