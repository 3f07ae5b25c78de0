"""Steps 1 and 2: AppsFlyer curation and deduplication, gateway rows, rejected rows."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from analytics.pipeline.gateway import prepare_gateway
from analytics.pipeline.inputs import LINE, Header
from analytics.pipeline.purchases import curate_purchases

from .pipeline_inputs import GATEWAY_COLUMNS, PURCHASE_COLUMNS, af, gw, run


def frame(rows: list[dict[str, str]], columns: list[str]) -> pl.DataFrame:
    data = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String))
    return data.with_row_index(LINE, offset=2)


def curate(rows: list[dict[str, str]], columns: list[str] = PURCHASE_COLUMNS):
    return curate_purchases(frame(rows, columns), Header.plain(columns))


def test_only_purchases_count_and_non_primary_rows_are_dropped_first() -> None:
    curated = curate(
        [
            af(afid="a1"),
            af(afid="a2", name="af_level_up", revenue="oops"),  # ignored, not rejected
            af(afid="a3", primary="false"),
            af(afid="a4", primary=" FALSE "),
            af(afid="a5", primary="False", time="bad"),  # dropped before validation
            af(afid="a6", primary="no"),
            af(afid="a7", primary=""),
            af(afid="a8", primary="0"),
        ]
    )
    assert curated.appsflyer_rows == 7
    assert curated.non_primary_dropped == 3
    assert curated.rejected.height == 0
    assert curated.purchases.get_column("appsflyer_id").to_list() == ["a1", "a6", "a7", "a8"]


def test_without_the_primary_column_every_row_is_primary() -> None:
    columns = [c for c in PURCHASE_COLUMNS if c != "Is Primary Attribution"]
    rows = [{k: v for k, v in af(afid=f"a{i}").items() if k in columns} for i in range(2)]
    curated = curate(rows, columns)
    assert (curated.appsflyer_rows, curated.non_primary_dropped) == (2, 0)
    assert curated.purchases.height == 2


def test_every_rejection_reason_keeps_line_and_original_text() -> None:
    rows = [
        af(time="2024-03-10"),
        af(time="2024-03-10 12:00:00Z"),
        af(revenue=""),
        af(revenue="1,99"),
        af(revenue="-0.01"),
        af(currency=""),
        af(usd="abc"),
        af(usd="-1"),
        af(),
    ]
    curated = curate(rows)
    assert curated.rejected.select("line", "reason").rows() == [
        (2, "bad Event Time"),
        (3, "bad Event Time"),
        (4, "bad Event Revenue"),
        (5, "bad Event Revenue"),
        (6, "negative Event Revenue"),
        (7, "empty Event Revenue Currency"),
        (8, "bad Event Revenue USD"),
        (9, "negative Event Revenue USD"),
    ]
    assert json.loads(curated.rejected.get_column("raw")[2]) == af(revenue="")
    assert curated.purchases.get_column("line").to_list() == [10]


def test_zero_revenue_is_valid() -> None:
    curated = curate([af(revenue="0", usd="0.00")])
    assert curated.rejected.height == 0
    assert curated.purchases.select("revenue_micros", "revenue_usd_micros").row(0) == (0, 0)


def test_same_order_id_is_one_purchase_first_occurrence_kept() -> None:
    curated = curate(
        [
            af(afid="a1", order="O1", revenue="1.00"),
            af(afid="a2", order="O2"),
            af(afid="a3", order="O1", revenue="5.00", user="someone else"),
            af(afid="a4", value='{"af_receipt_id":"O2"}'),
        ]
    )
    assert curated.duplicates_removed == 2
    purchases = curated.purchases
    assert purchases.select("af_pos", "appsflyer_id", "order_id", "revenue_micros").rows() == [
        (0, "a1", "O1", 1_000_000),
        (1, "a2", "O2", 1_990_000),
    ]


def test_rows_without_order_id_are_duplicates_when_equal_as_values() -> None:
    curated = curate(
        [
            af(afid="a1", user="u1", time="2024-03-10 12:00:00", revenue="10.0"),
            af(afid="a1", user="u1", time="2024-03-10T12:00:00.000", revenue="10.00", usd="9"),
            af(afid="a1", user="u1", time="2024-03-10 12:00:00.000001", revenue="10"),
            af(afid="a1", user="u1", time="2024-03-10 12:00:00", revenue="10", currency="EUR"),
            af(afid="a1", user="", time="2024-03-10 12:00:00", revenue="10"),
            af(afid="a1", user="", time="2024-03-10 12:00:00", revenue="10.000"),
            af(afid="", user="", revenue="10"),
            af(afid="", user="", revenue="10", platform="ios", source="other"),
        ]
    )
    assert curated.duplicates_removed == 3
    assert curated.purchases.get_column("line").to_list() == [2, 4, 5, 6, 8]


def test_a_row_with_order_id_never_duplicates_one_without() -> None:
    curated = curate([af(afid="a1"), af(afid="a1", order="O1"), af(afid="a1", value="{}")])
    assert curated.duplicates_removed == 1
    assert curated.purchases.select("line", "order_id").rows() == [(2, None), (3, "O1")]


def test_rejected_rows_are_not_deduplicated_and_invalid_copies_do_not_hide_valid_ones() -> None:
    curated = curate([af(order="O1", revenue="x"), af(order="O1", revenue="2.00")])
    assert curated.rejected.get_column("line").to_list() == [2]
    assert curated.duplicates_removed == 0
    assert curated.purchases.select("line", "revenue_micros").rows() == [(3, 2_000_000)]


def test_campaign_keys_are_normalised_in_curated_purchases() -> None:
    curated = curate(
        [
            af(afid="a1", source="", campaign="spring"),
            af(afid="a2", source="organic", campaign="x"),
            af(afid="a3", source="Net", campaign="C"),
        ]
    )
    assert curated.purchases.select("media_source", "campaign").rows() == [
        ("organic", ""),
        ("organic", ""),
        ("Net", "C"),
    ]


# --------------------------------------------------------------------------------------------
# Step 2


def gateway(rows: list[dict[str, str]]):
    return prepare_gateway(frame(rows, GATEWAY_COLUMNS), Header.plain(GATEWAY_COLUMNS))


def test_gateway_rejection_reasons_in_column_order() -> None:
    result = gateway(
        [
            gw(txn="", time="bad"),
            gw(time="2024-03-10"),
            gw(type="Purchase"),
            gw(amount=""),
            gw(amount="0"),
            gw(amount="-1"),
            gw(currency=""),
            gw(usd="1e2"),
            gw(usd="0.00"),
        ]
    )
    assert result.rejected.select("line", "reason").rows() == [
        (2, "empty transaction_id"),
        (3, "bad event_time"),
        (4, "unknown event_type"),
        (5, "bad amount"),
        (6, "amount not positive"),
        (7, "amount not positive"),
        (8, "empty currency"),
        (9, "bad amount_usd"),
        (10, "amount_usd not positive"),
    ]
    assert result.purchases.height == 0


def test_identical_rows_are_one_row_compared_as_parsed_values() -> None:
    result = gateway(
        [
            gw(txn="T1", time="2024-03-10T12:00:00Z", amount="1.5"),
            gw(txn="T1", time="2024-03-10 13:00:00+01:00", amount="1.50"),
            gw(txn="T1", type="refund", usd="0.5"),
            gw(txn="T1", type="refund", usd="0.50"),
            gw(txn="T1", type="refund", usd="0.50", time="2024-03-10T12:00:01Z"),
        ]
    )
    assert result.rejected.height == 0
    assert result.purchases.select("line", "transaction_id", "amount_micros").rows() == [
        (2, "T1", 1_500_000)
    ]
    assert result.reversals.get_column("line").to_list() == [4, 6]


def test_conflicting_purchases_reject_every_line_and_orphan_their_reversals() -> None:
    result = gateway(
        [
            gw(txn="T1", amount="1.99"),
            gw(txn="T2"),
            gw(txn="T1", amount="1.99"),  # a resend of line 2, still rejected
            gw(txn="T1", amount="2.99"),
            gw(txn="T1", type="refund"),
            gw(txn="T3", type="chargeback"),
        ]
    )
    assert result.rejected.select("line", "reason").rows() == [
        (2, "conflicting purchase"),
        (4, "conflicting purchase"),
        (5, "conflicting purchase"),
    ]
    assert result.purchases.get_column("transaction_id").to_list() == ["T2"]
    assert result.reversals.select("line", "transaction_id").rows() == [(6, "T1"), (7, "T3")]


def test_reconciliation_counts_with_rejections_and_orphans(tmp_path: Path) -> None:
    result, reports = run(
        tmp_path,
        purchases=[
            af(order="T1"),
            af(order="T1"),
            af(time="never"),
            af(primary="false"),
            af(name="af_login"),
        ],
        gateway=[
            gw(txn="T1"),
            gw(txn="T9", amount="1"),
            gw(txn="T9", amount="2"),
            gw(txn="T9", type="refund", usd="0.50"),
            gw(txn="T1", type="refund", usd="0.25"),
            gw(txn="T1", type="chargeback", usd="0.25"),
            gw(txn="T1", type="chargeback_reversal", usd="0.10"),
            gw(txn="T404", type="chargeback", usd="5"),
        ],
    )
    reconciliation = reports["reconciliation"]
    assert reconciliation == result.reconciliation
    assert {k: v for k, v in reconciliation.items() if k != "revenue_usd"} == {
        "window_minutes": 10,
        "appsflyer_rows": 4,
        "non_primary_dropped": 1,
        "duplicates_removed": 1,
        "appsflyer_purchases": 1,
        "gateway_purchases": 1,
        "matched": 1,
        "matched_by_id": 1,
        "matched_by_time": 0,
        "unmatched_appsflyer": 0,
        "unmatched_gateway": 0,
        "match_rate": 1.0,
        "refunds": 2,
        "chargebacks": 2,
        "chargeback_reversals": 1,
        "orphan_reversals": 2,
        "rejected_rows": 3,
    }
    assert reconciliation["revenue_usd"] == {
        "appsflyer": 1.99,
        "confirmed": 1.99,
        "reversed": 0.4,
        "net": 1.59,
        "unattributed": 0.0,
        "unconfirmed": 0.0,
    }
    assert [(r["file"], r["line"], r["reason"]) for r in reports["rejected"]] == [
        ("purchases_raw", "4", "bad Event Time"),
        ("confirmed_purchases", "3", "conflicting purchase"),
        ("confirmed_purchases", "4", "conflicting purchase"),
    ]
