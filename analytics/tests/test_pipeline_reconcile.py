"""Step 3: reconciliation by id, then the greedy one-to-one time match."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.pipeline.reconcile import greedy_assign, reconcile, time_candidates

from .pipeline_inputs import af, gw, run

BASE = dt.datetime(2024, 3, 10, 12, 0, 0)
AF_SCHEMA = {
    "af_pos": pl.Int64,
    "event_time": pl.Datetime("us"),
    "user_id": pl.String,
    "currency": pl.String,
    "revenue_micros": pl.Int64,
    "order_id": pl.String,
}
GW_SCHEMA = {
    "gw_idx": pl.Int64,
    "transaction_id": pl.String,
    "event_time": pl.Datetime("us"),
    "user_id": pl.String,
    "currency": pl.String,
    "amount_micros": pl.Int64,
}


def purchases(*rows: tuple) -> pl.DataFrame:
    """(event_time, user, currency, revenue_micros[, order_id]) in file order."""
    data = [(i, r[0], r[1], r[2], r[3], r[4] if len(r) > 4 else None) for i, r in enumerate(rows)]
    return pl.DataFrame(data, schema=AF_SCHEMA, orient="row")


def confirmations(*rows: tuple) -> pl.DataFrame:
    """(transaction_id, event_time, user, currency, amount_micros)."""
    data = [(i, *r) for i, r in enumerate(rows)]
    return pl.DataFrame(data, schema=GW_SCHEMA, orient="row")


def pairs(matches: pl.DataFrame) -> set[tuple]:
    return set(matches.select("af_pos", "gw_idx", "match_status").iter_rows())


def at(seconds: float = 0, microseconds: int = 0) -> dt.datetime:
    return BASE + dt.timedelta(seconds=seconds, microseconds=microseconds)


def test_by_id_matches_whatever_the_users_and_before_any_time_match() -> None:
    af_rows = purchases((at(), "u1", "USD", 1_000_000, "T2"), (at(), "u1", "USD", 1_000_000))
    gw_rows = confirmations(
        ("T1", at(), "u1", "USD", 1_000_000), ("T2", at(3600), "other", "EUR", 9_000_000)
    )
    assert pairs(reconcile(af_rows, gw_rows, 10)) == {
        (0, 1, "matched_by_id"),
        (1, 0, "matched_by_time"),
    }


def test_an_order_id_that_matches_nothing_can_still_match_by_time() -> None:
    af_rows = purchases((at(), "u1", "USD", 1_000_000, "UNKNOWN"))
    gw_rows = confirmations(("T1", at(30), "u1", "USD", 1_000_000))
    assert pairs(reconcile(af_rows, gw_rows, 10)) == {(0, 0, "matched_by_time")}


def test_window_is_inclusive_to_the_microsecond() -> None:
    af_rows = purchases(
        (at(), "u1", "USD", 1_000_000),
        (at(), "u2", "USD", 1_000_000),
        (at(), "u3", "USD", 1_000_000),
    )
    gw_rows = confirmations(
        ("T1", at(600), "u1", "USD", 1_000_000),
        ("T2", at(600, 1), "u2", "USD", 1_000_000),
        ("T3", at(-600), "u3", "USD", 1_000_000),
    )
    assert pairs(reconcile(af_rows, gw_rows, 10)) == {
        (0, 0, "matched_by_time"),
        (2, 2, "matched_by_time"),
    }


def test_window_minutes_parameter_and_zero_window() -> None:
    af_rows = purchases((at(), "u1", "USD", 1_000_000), (at(), "u2", "USD", 1_000_000))
    gw_rows = confirmations(
        ("T1", at(120), "u1", "USD", 1_000_000), ("T2", at(), "u2", "USD", 1_000_000)
    )
    assert pairs(reconcile(af_rows, gw_rows, 1)) == {(1, 1, "matched_by_time")}
    assert pairs(reconcile(af_rows, gw_rows, 0)) == {(1, 1, "matched_by_time")}
    assert pairs(reconcile(af_rows, gw_rows, 2)) == {
        (0, 0, "matched_by_time"),
        (1, 1, "matched_by_time"),
    }


def test_amount_tolerance_is_one_cent_exactly_and_currency_and_user_must_match() -> None:
    af_rows = purchases(
        (at(), "u1", "USD", 1_000_000),
        (at(), "u2", "USD", 1_000_000),
        (at(), "u3", "USD", 1_000_000),
        (at(), "u4", "USD", 1_000_000),
        (at(), "", "USD", 1_000_000),
    )
    gw_rows = confirmations(
        ("T1", at(), "u1", "USD", 1_010_000),
        ("T2", at(), "u2", "USD", 1_020_000),
        ("T3", at(), "u3", "EUR", 1_000_000),
        ("T4", at(), "U4", "USD", 1_000_000),
        ("T5", at(), "", "USD", 1_000_000),
    )
    assert pairs(reconcile(af_rows, gw_rows, 10)) == {(0, 0, "matched_by_time")}


def test_one_confirmation_wanted_by_two_purchases_goes_to_the_closer() -> None:
    af_rows = purchases((at(0), "u1", "USD", 1_000_000), (at(100), "u1", "USD", 1_000_000))
    gw_rows = confirmations(("T1", at(90), "u1", "USD", 1_000_000))
    assert pairs(reconcile(af_rows, gw_rows, 10)) == {(1, 0, "matched_by_time")}


def test_greedy_by_closeness_differs_from_nearest_per_purchase() -> None:
    # join_asof would give both purchases T2 (their nearest); greedy gives P1 T2 (10 s) first,
    # then P0 can only take T1 (200 s).
    af_rows = purchases((at(0), "u1", "USD", 1_000_000), (at(100), "u1", "USD", 1_000_000))
    gw_rows = confirmations(
        ("T1", at(-200), "u1", "USD", 1_000_000), ("T2", at(90), "u1", "USD", 1_000_000)
    )
    assert pairs(reconcile(af_rows, gw_rows, 10)) == {
        (1, 1, "matched_by_time"),
        (0, 0, "matched_by_time"),
    }


def test_ties_go_to_the_earlier_appsflyer_time_then_file_order_then_smaller_id() -> None:
    # Equal distance (60 s) from the confirmation at 60 s: the earlier purchase (0 s) wins.
    earlier = purchases((at(120), "u1", "USD", 1_000_000), (at(0), "u1", "USD", 1_000_000))
    one = confirmations(("T1", at(60), "u1", "USD", 1_000_000))
    assert pairs(reconcile(earlier, one, 10)) == {(1, 0, "matched_by_time")}
    # Same time too: file order.
    same = purchases((at(0), "u1", "USD", 1_000_000), (at(0), "u1", "USD", 1_000_000))
    assert pairs(reconcile(same, one, 10)) == {(0, 0, "matched_by_time")}
    # One purchase, two confirmations at the same distance: the smaller transaction id.
    single = purchases((at(0), "u1", "USD", 1_000_000))
    two = confirmations(
        ("b", at(30), "u1", "USD", 1_000_000),
        ("B", at(-30), "u1", "USD", 1_000_000),
        ("a", at(31), "u1", "USD", 1_000_000),
    )
    assert pairs(reconcile(single, two, 10)) == {(0, 1, "matched_by_time")}


def test_a_chain_needing_several_rounds_is_resolved_like_the_sequential_scan() -> None:
    # Distances grow along the chain P0-T0 (1 s), T0-P1 (2 s), P1-T1 (3 s), T1-P2 (4 s), ...
    af_rows = purchases(*[(at(3 * i), "u1", "USD", 1_000_000) for i in range(5)])
    gw_rows = confirmations(*[(f"T{i}", at(3 * i + 1), "u1", "USD", 1_000_000) for i in range(5)])
    assert pairs(reconcile(af_rows, gw_rows, 10)) == {(i, i, "matched_by_time") for i in range(5)}


def test_curated_file_reports_match_and_gateway_minus_appsflyer_time(tmp_path: Path) -> None:
    _, reports = run(
        tmp_path,
        purchases=[
            af(time="2024-03-10 12:00:00", order="T1"),
            af(time="2024-03-10 12:00:00", user="u2"),
            af(time="2024-03-10 12:00:00", user="u3"),
        ],
        gateway=[
            gw(txn="T1", time="2024-03-10T11:59:59.9975Z"),
            gw(txn="T2", user="u2", time="2024-03-10T12:10:00Z"),
            gw(txn="T3", user="u3", time="2024-03-10T12:10:00.000001Z"),
        ],
    )
    assert [
        (r["match_status"], r["transaction_id"], r["time_diff_seconds"], r["confirmed_usd"])
        for r in reports["curated"]
    ] == [
        ("matched_by_id", "T1", "-0.002", "1.99"),  # -0.0025 s, half-to-even
        ("matched_by_time", "T2", "600.000", "1.99"),
        ("unmatched", "", "", "0.00"),
    ]


# --------------------------------------------------------------------------------------------
# Equivalence with the sequential greedy scan, on random data


def brute_force_greedy(af_rows: list[tuple], gw_rows: list[tuple], window_us: int) -> set:
    candidates = []
    for af_pos, (af_time, af_user, af_currency, af_amount) in enumerate(af_rows):
        for gw_idx, (txn, gw_time, gw_user, gw_currency, gw_amount) in enumerate(gw_rows):
            delta = abs(int((gw_time - af_time) / dt.timedelta(microseconds=1)))
            if (
                af_user != ""
                and af_user == gw_user
                and af_currency == gw_currency
                and abs(af_amount - gw_amount) <= 10_000
                and delta <= window_us
            ):
                candidates.append((delta, af_time, af_pos, txn, gw_idx))
    candidates.sort()
    taken_af: set[int] = set()
    taken_gw: set[int] = set()
    chosen = set()
    for _, _, af_pos, _, gw_idx in candidates:
        if af_pos in taken_af or gw_idx in taken_gw:
            continue
        taken_af.add(af_pos)
        taken_gw.add(gw_idx)
        chosen.add((af_pos, gw_idx))
    return chosen


offsets = st.sampled_from([0, 1, -1, 30_000_000, 59_999_999, 60_000_000, 60_000_001, 5_000_000])
users = st.sampled_from(["u1", "u2", ""])
currencies = st.sampled_from(["USD", "EUR"])
amounts = st.sampled_from([1_000_000, 1_010_000, 1_020_000, 990_000])
af_strategy = st.tuples(st.integers(0, 4), offsets, users, currencies, amounts)
gw_strategy = st.tuples(
    st.sampled_from(["a", "B", "b", "Z", "é", "aa"]),
    st.integers(0, 4),
    offsets,
    users,
    currencies,
    amounts,
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(af_strategy, max_size=9), st.lists(gw_strategy, max_size=9, unique_by=lambda g: g[0])
)
def test_time_match_equals_the_sequential_greedy_scan(af_spec: list, gw_spec: list) -> None:
    def moment(anchor: int, offset: int) -> dt.datetime:
        return BASE + dt.timedelta(seconds=45 * anchor, microseconds=offset)

    af_rows = [(moment(a, o), u, c, m) for a, o, u, c, m in af_spec]
    gw_rows = [(t, moment(a, o), u, c, m) for t, a, o, u, c, m in gw_spec]
    expected = brute_force_greedy(af_rows, gw_rows, 60_000_000)
    candidates = time_candidates(purchases(*af_rows), confirmations(*gw_rows), 1)
    got = set(greedy_assign(candidates).iter_rows())
    assert got == expected
