"""Management commands: wallet_adjust and ledger_verify."""

import pytest
from django.core.management import CommandError, call_command

from accounts.tests.factories import StaffFactory
from economy.models import LedgerEntry, Wallet
from economy.services import wallet_earn, wallet_spend
from economy.tests.factories import CurrencyFactory
from economy.tests.helpers import balance_of, nothing_written

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return StaffFactory(username="staff_ops")


def test_wallet_adjust_command(player, coins, staff, capsys):
    wallet_earn(player=player, currency=coins, amount=10, reason="q", request_id="")

    call_command(
        "wallet_adjust",
        "--user",
        player.username,
        "--amount",
        "-4",
        "--note",
        "dup grant",
        "--actor",
        "staff_ops",
    )

    entry = LedgerEntry.objects.get(kind="adjustment")
    assert (entry.amount, entry.balance_after, entry.actor, entry.note, entry.request_id) == (
        -4,
        6,
        staff,
        "dup grant",
        "",
    )
    assert f"{player.username} coins -4 -> 6 (transaction {entry.transaction_id})" in (
        capsys.readouterr().out
    )


def test_wallet_adjust_command_in_another_currency(player, staff):
    CurrencyFactory(code="gems")

    call_command(
        "wallet_adjust",
        f"--user={player.username}",
        "--amount=25",
        "--note=gift",
        "--currency=gems",
        "--actor=staff_ops",
    )

    assert balance_of(player, "gems") == 25


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--amount=-1", "--note=x", "--actor=staff_ops"], "insufficient_funds"),
        (["--amount=0", "--note=x", "--actor=staff_ops"], "amount"),
        (["--amount=5", "--note= ", "--actor=staff_ops"], "note"),
        (["--amount=5", "--note=x", "--actor=nobody"], "No user 'nobody'"),
        (["--amount=5", "--note=x", "--actor=staff_ops", "--currency=nope"], "Unknown currency"),
    ],
)
def test_wallet_adjust_command_refusals(player, staff, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("wallet_adjust", f"--user={player.username}", *args)

    assert nothing_written(player, balance=None, entries=0)


def test_wallet_adjust_command_refuses_a_player_as_actor(player):
    with pytest.raises(CommandError, match="permission_denied"):
        call_command(
            "wallet_adjust",
            f"--user={player.username}",
            "--amount=5",
            "--note=x",
            f"--actor={player.username}",
        )

    assert nothing_written(player, balance=None, entries=0)


def test_ledger_verify_is_clean_after_normal_operations(player, coins, staff, capsys):
    from accounts.tests.factories import PlayerFactory
    from economy.services import wallet_adjust

    other = PlayerFactory()
    wallet_earn(player=player, currency=coins, amount=10, reason="q", request_id="")
    wallet_spend(player=player, currency=coins, amount=3, reason="q", request_id="")
    wallet_adjust(player=other, currency=coins, amount=4, note="x", actor=staff, request_id="")
    Wallet.objects.create(player=staff, currency=coins)  # a wallet without entries, balance 0

    call_command("ledger_verify")

    assert capsys.readouterr().out.strip() == "wallets: 3, entries: 3, violations: 0"


def test_ledger_verify_reports_a_balance_changed_behind_the_ledger(player, coins, capsys):
    wallet_earn(player=player, currency=coins, amount=10, reason="q", request_id="")
    Wallet.objects.filter(player=player).update(balance=11)

    with pytest.raises(CommandError, match="1 ledger violation"):
        call_command("ledger_verify")

    captured = capsys.readouterr()
    assert "wallets: 1, entries: 1, violations: 1" in captured.out
    assert (
        f"({player.username}/coins): balance 11, sum of entries 10, newest balance_after 10"
        in captured.err
    )


def test_ledger_verify_reports_a_balance_without_entries(player, coins, capsys):
    Wallet.objects.create(player=player, currency=coins, balance=50)

    with pytest.raises(CommandError):
        call_command("ledger_verify")

    assert "balance 50, sum of entries 0, newest balance_after 0" in capsys.readouterr().err


def test_ledger_verify_reports_a_broken_chain(player, coins, capsys):
    """Entries whose running sum disagrees with their balance_after, even if the end agrees."""
    wallet = Wallet.objects.create(player=player, currency=coins, balance=10)
    for amount, after in [(5, 7), (5, 10)]:
        LedgerEntry.objects.create(
            wallet=wallet,
            player=player,
            amount=amount,
            balance_after=after,
            kind="earn",
            reason="q",
            created_at="2026-01-01T00:00:00Z",
        )

    with pytest.raises(CommandError, match="1 ledger violation"):
        call_command("ledger_verify")

    assert "has balance_after 7, but the entries up to it sum to 5" in capsys.readouterr().err


def test_ledger_verify_query_count_does_not_grow_with_entries(
    player, coins, django_assert_max_num_queries
):
    for _ in range(20):
        wallet_earn(player=player, currency=coins, amount=1, reason="q", request_id="")

    with django_assert_max_num_queries(4):
        call_command("ledger_verify")
