"""Baseline: the reconciliation step written the way a competent pandas user would.

Reads the AppsFlyer export and the gateway ledger, curates (af_purchase, primary, parseable,
order id, duplicates), removes resent/conflicting gateway purchases, matches by id with a merge,
then by time: candidate pairs from a merge on user + currency, filtered on the window and the
0.01 amount tolerance, sorted by closeness and the contract's tie-breaks, and assigned greedily.
Prints one JSON line with the seconds of each phase. Run by bench/pipeline/run.py.

    python bench/pipeline/pandas_baseline.py DATA_DIR [--window-minutes 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def load(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    af = pd.read_csv(data_dir / "purchases_raw.csv", dtype=str, keep_default_na=False)
    gw = pd.read_csv(data_dir / "confirmed_purchases.csv", dtype=str, keep_default_na=False)
    return af, gw


def curate(af: pd.DataFrame) -> pd.DataFrame:
    af = af[af["Event Name"] == "af_purchase"]
    if "Is Primary Attribution" in af:
        af = af[af["Is Primary Attribution"].str.strip().str.lower() != "false"]
    af = af.assign(
        time=pd.to_datetime(af["Event Time"], format="ISO8601", errors="coerce"),
        revenue=pd.to_numeric(af["Event Revenue"], errors="coerce"),
        usd=pd.to_numeric(af["Event Revenue USD"], errors="coerce"),
    )
    af = af[
        af["time"].notna()
        & (af["revenue"] >= 0)
        & (af["usd"] >= 0)
        & (af["Event Revenue Currency"] != "")
    ]
    order = af["Event Value"].str.extract(r'"af_order_id"\s*:\s*"([^"]+)"')[0]
    receipt = af["Event Value"].str.extract(r'"af_receipt_id"\s*:\s*"([^"]+)"')[0]
    af = af.assign(order_id=order.fillna(receipt))
    with_id = af[af["order_id"].notna()].drop_duplicates("order_id")
    without = af[af["order_id"].isna()].drop_duplicates(
        ["AppsFlyer ID", "Customer User ID", "time", "revenue", "Event Revenue Currency"]
    )
    af = pd.concat([with_id, without]).sort_index()
    return af.reset_index(drop=True).rename_axis("position").reset_index()


def gateway_purchases(gw: pd.DataFrame) -> pd.DataFrame:
    gw = gw.assign(
        time=pd.to_datetime(gw["event_time"], format="ISO8601", errors="coerce", utc=True),
        amount_num=pd.to_numeric(gw["amount"], errors="coerce"),
        usd=pd.to_numeric(gw["amount_usd"], errors="coerce"),
    )
    gw = gw[(gw["transaction_id"] != "") & gw["time"].notna() & (gw["amount_num"] > 0)]
    gw = gw.assign(time=gw["time"].dt.tz_localize(None))
    purchases = gw[gw["event_type"] == "purchase"].drop_duplicates(
        ["transaction_id", "user_id", "time", "amount_num", "currency", "usd"]
    )
    counts = purchases["transaction_id"].value_counts()
    return purchases[purchases["transaction_id"].map(counts) == 1]


def reconcile(af: pd.DataFrame, gw: pd.DataFrame, window_minutes: int) -> dict[str, int]:
    by_id = af.merge(gw, left_on="order_id", right_on="transaction_id", suffixes=("", "_gw"))
    af_left = af[~af["position"].isin(by_id["position"])]
    gw_left = gw[~gw["transaction_id"].isin(by_id["transaction_id"])]
    af_left = af_left[af_left["Customer User ID"] != ""]
    candidates = af_left[
        ["position", "Customer User ID", "Event Revenue Currency", "time", "revenue"]
    ].merge(
        gw_left[["transaction_id", "user_id", "currency", "time", "amount_num"]],
        left_on=["Customer User ID", "Event Revenue Currency"],
        right_on=["user_id", "currency"],
        suffixes=("_af", "_gw"),
    )
    candidates["gap"] = (candidates["time_gw"] - candidates["time_af"]).abs()
    candidates = candidates[
        (candidates["gap"] <= pd.Timedelta(minutes=window_minutes))
        & ((candidates["revenue"] - candidates["amount_num"]).abs().round(6) <= 0.01)
    ].sort_values(["gap", "time_af", "position", "transaction_id"], kind="stable")
    taken_af: set[int] = set()
    taken_gw: set[str] = set()
    for position, transaction in zip(
        candidates["position"].to_numpy(), candidates["transaction_id"].to_numpy(), strict=True
    ):
        if position in taken_af or transaction in taken_gw:
            continue
        taken_af.add(position)
        taken_gw.add(transaction)
    return {"matched_by_id": len(by_id), "matched_by_time": len(taken_af)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--window-minutes", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    af, gw = load(args.data_dir)
    loaded = time.perf_counter()
    af, gw = curate(af), gateway_purchases(gw)
    curated = time.perf_counter()
    counts = reconcile(af, gw, args.window_minutes)
    done = time.perf_counter()
    json.dump(
        {
            "load_seconds": round(loaded - started, 3),
            "curate_seconds": round(curated - loaded, 3),
            "reconcile_seconds": round(done - curated, 3),
            "total_seconds": round(done - started, 3),
            **counts,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
