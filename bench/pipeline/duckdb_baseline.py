"""Baseline: the reconciliation step as SQL in DuckDB, the way a competent DuckDB user writes it.

The same scope as pandas_baseline.py: read the AppsFlyer export and the gateway ledger (every
column as text), curate (af_purchase, primary, parseable, order id from the Event Value JSON,
duplicates), remove resent and conflicting gateway purchases, match by id, then by time:
candidate pairs from a join on user + currency within the window and the 0.01 tolerance, ranked
by closeness and the contract's tie-breaks, and assigned greedily one-to-one by rounds of
"mutual best" pairs in SQL. Prints one JSON line with the seconds of each phase. Run by
bench/pipeline/run.py.

    python bench/pipeline/duckdb_baseline.py DATA_DIR [--window-minutes 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb


def load(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    for table, name in (("af_raw", "purchases_raw"), ("gw_raw", "confirmed_purchases")):
        path = str(data_dir / f"{name}.csv")
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT row_number() OVER () AS line, * "  # noqa: S608 - constant table names
            "FROM read_csv(?, all_varchar = true, header = true, quote = '\"', escape = '\"', "
            "null_padding = true, max_line_size = 10000000)",
            [path],
        )


def curate(con: duckdb.DuckDBPyConnection) -> None:
    columns = [row[0] for row in con.execute("DESCRIBE af_raw").fetchall()]
    primary = (
        "lower(trim(coalesce(\"Is Primary Attribution\", ''))) <> 'false'"
        if "Is Primary Attribution" in columns
        else "true"
    )
    con.execute(
        f"""
        CREATE TEMP TABLE af_valid AS
        SELECT line,
               try_cast(replace("Event Time", 'T', ' ') AS TIMESTAMP) AS time_af,
               try_cast("Event Revenue" AS DECIMAL(18, 6)) AS revenue,
               try_cast("Event Revenue USD" AS DECIMAL(18, 6)) AS usd,
               coalesce("Event Revenue Currency", '') AS currency,
               coalesce("Customer User ID", '') AS user_id,
               coalesce("AppsFlyer ID", '') AS appsflyer_id,
               coalesce(
                   nullif(CASE WHEN json_valid("Event Value")
                          THEN json_extract_string("Event Value", '$.af_order_id') END, ''),
                   nullif(CASE WHEN json_valid("Event Value")
                          THEN json_extract_string("Event Value", '$.af_receipt_id') END, '')
               ) AS order_id
        FROM af_raw
        WHERE "Event Name" = 'af_purchase' AND {primary}
        """  # noqa: S608 - `primary` is one of two constant expressions
    )
    con.execute(
        """
        CREATE TEMP TABLE af AS
        SELECT row_number() OVER (ORDER BY line) - 1 AS position, *
        FROM (
            SELECT * FROM af_valid
            WHERE time_af IS NOT NULL AND revenue >= 0 AND usd >= 0 AND currency <> ''
            QUALIFY row_number() OVER (
                PARTITION BY CASE WHEN order_id IS NOT NULL THEN order_id END,
                             CASE WHEN order_id IS NULL
                                  THEN (appsflyer_id, user_id, time_af, revenue, currency) END
                ORDER BY line
            ) = 1
        )
        """
    )


def gateway_purchases(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TEMP TABLE gw_rows AS
        SELECT line, coalesce(transaction_id, '') AS transaction_id,
               coalesce(user_id, '') AS user_id,
               timezone('UTC', try_cast(event_time AS TIMESTAMPTZ)) AS time_gw,
               event_type, try_cast(amount AS DECIMAL(18, 6)) AS amount,
               coalesce(currency, '') AS currency,
               try_cast(amount_usd AS DECIMAL(18, 6)) AS usd
        FROM gw_raw
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE gw AS
        WITH valid AS (
            SELECT * FROM gw_rows
            WHERE transaction_id <> '' AND time_gw IS NOT NULL AND amount > 0 AND usd > 0
              AND currency <> '' AND event_type = 'purchase'
        ), distinct_rows AS (
            SELECT * FROM valid
            QUALIFY row_number() OVER (
                PARTITION BY transaction_id, user_id, time_gw, amount, currency, usd
                ORDER BY line) = 1
        )
        SELECT * FROM distinct_rows
        WHERE transaction_id IN (
            SELECT transaction_id FROM distinct_rows GROUP BY ALL HAVING count(*) = 1)
        """
    )


def reconcile(con: duckdb.DuckDBPyConnection, window_minutes: int) -> dict[str, int]:
    con.execute(
        """
        CREATE TEMP TABLE by_id AS
        SELECT af.position, gw.transaction_id
        FROM af JOIN gw ON af.order_id = gw.transaction_id
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE cand AS
        SELECT position, transaction_id,
               row_number() OVER (ORDER BY gap, time_af, position, transaction_id) AS rank
        FROM (
            SELECT a.position, g.transaction_id, a.time_af,
                   abs(epoch_us(g.time_gw) - epoch_us(a.time_af)) AS gap
            FROM (SELECT * FROM af WHERE user_id <> ''
                  AND position NOT IN (SELECT position FROM by_id)) a
            JOIN (SELECT * FROM gw WHERE user_id <> ''
                  AND transaction_id NOT IN (SELECT transaction_id FROM by_id)) g
              ON a.user_id = g.user_id AND a.currency = g.currency
             AND g.time_gw BETWEEN a.time_af - INTERVAL {window_minutes} MINUTE
                               AND a.time_af + INTERVAL {window_minutes} MINUTE
            WHERE abs(a.revenue - g.amount) <= 0.01
        )
        """  # noqa: S608 - the window is an int
    )
    con.execute("CREATE TEMP TABLE by_time (position BIGINT, transaction_id VARCHAR)")
    while True:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE chosen AS
            SELECT position, transaction_id FROM (
                SELECT *, min(rank) OVER (PARTITION BY position) AS best_af,
                          min(rank) OVER (PARTITION BY transaction_id) AS best_gw
                FROM cand)
            WHERE rank = best_af AND rank = best_gw
            """
        )
        chosen = con.execute("SELECT count(*) FROM chosen").fetchone()
        if not chosen or chosen[0] == 0:
            break
        con.execute("INSERT INTO by_time SELECT * FROM chosen")
        con.execute(
            """
            DELETE FROM cand
            WHERE position IN (SELECT position FROM chosen)
               OR transaction_id IN (SELECT transaction_id FROM chosen)
            """
        )
    counts = con.execute(
        "SELECT (SELECT count(*) FROM by_id), (SELECT count(*) FROM by_time)"
    ).fetchone()
    assert counts is not None
    return {"matched_by_id": int(counts[0]), "matched_by_time": int(counts[1])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--window-minutes", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    load(con, args.data_dir)
    loaded = time.perf_counter()
    curate(con)
    gateway_purchases(con)
    curated = time.perf_counter()
    counts = reconcile(con, args.window_minutes)
    done = time.perf_counter()
    json.dump(
        {
            "load_seconds": round(loaded - started, 3),
            "curate_seconds": round(curated - loaded, 3),
            "reconcile_seconds": round(done - curated, 3),
            "total_seconds": round(done - started, 3),
            **counts,
            "duckdb": duckdb.__version__,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
