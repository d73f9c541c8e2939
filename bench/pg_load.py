"""Load a bench store (bench/build_store.py) into a PostgreSQL schema, to time the same data there.

    python bench/pg_load.py SRC_DIR DEST_DIR --database URL [--schema NAME]

SRC_DIR holds what build_store.py made (config.toml + bench.db). The schema is created
through the real `Store.open` (migrations under the advisory lock), then every table is
copied row for row with COPY, the salt and derived signature included, and ANALYZEd.
DEST_DIR/config.toml is SRC_DIR's with `database` and `schema` pointing at it, so
`python bench/snapshot_time.py DEST_DIR` times the same report on PostgreSQL.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from pathlib import Path

from twoway.store import PgTarget, Store
from twoway.store.postgres import PgConnection


def load(src: Path, dest: Path, url: str, schema: str) -> None:
    started = time.perf_counter()
    store = Store.open(PgTarget(url, schema))
    conn = store.conn
    assert isinstance(conn, PgConnection)
    source = sqlite3.connect(f"{(src / 'bench.db').resolve().as_uri()}?mode=ro", uri=True)
    listed = source.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    tables = [r[0] for r in listed]
    rows = 0
    with conn.raw.transaction():
        for table in tables:
            columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
            conn.raw.execute(f"DELETE FROM {table}")
            names = ", ".join(columns)
            with conn.raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {names} FROM {table}"):
                    copy.write_row(row)
                    rows += 1
        conn.raw.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', %s) ON CONFLICT (key) DO NOTHING",
            (str(source.execute("PRAGMA user_version").fetchone()[0]),),
        )
    store.analyze()
    store.close()
    dest.mkdir(parents=True, exist_ok=True)
    text = (src / "config.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^database = .*$', f'database = "{url}"\nschema = "{schema}"', text)
    (dest / "config.toml").write_text(text, encoding="utf-8")
    print(f"{rows:,} rows of {len(tables)} tables into {schema} in {time.perf_counter() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--database", required=True, help="a postgresql:// URL")
    parser.add_argument("--schema", default="bench")
    args = parser.parse_args()
    load(args.src, args.dest, args.database, args.schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
