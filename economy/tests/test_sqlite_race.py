"""SQLite: writers serialize at BEGIN IMMEDIATE, so racing threads lose no update either."""

import pytest

from accounts.tests.helpers import sqlite_file_run


@pytest.mark.slow
def test_threads_on_a_sqlite_file_lose_no_update(tmp_path):
    result = sqlite_file_run(
        "economy.tests.sqlite_race", "20", "10", database=tmp_path / "race.db", log_level="WARNING"
    )

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    balance, expected, entries, spends = map(int, lines[-2].split())
    assert balance == expected == 1400 - 100 * spends
    # Each thread spends after its own earns: 1400 covers at most 14, fewer if a thread came
    # early; either way the balance is exact and never negative.
    assert 0 <= spends <= 14
    assert entries == 200 + spends
    assert lines[-1] == f"wallets: 1, entries: {entries}, violations: 0"
