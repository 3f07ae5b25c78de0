"""Bulk-create benchmark players and write one access token per line.

Usage (with the benchmark's environment): python bench/players.py <prefix> <count> <out file>
[staff]   ("staff" makes them staff members, for /run-pipeline)
Players get unusable passwords (bare login works); tokens are the same HS256 access tokens
/login issues, minted without a request so 10,000 take about a second.
"""

import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402


def main(prefix: str, count: int, out: Path, staff: bool = False) -> None:
    unusable = make_password(None)
    names = [f"{prefix}_{n}" for n in range(count)]
    User.objects.bulk_create(
        [User(username=name, password=unusable, is_staff=staff) for name in names],
        batch_size=2000,
        ignore_conflicts=True,
    )
    users = {user.username: user for user in User.objects.filter(username__in=names)}
    tokens = [str(AccessToken.for_user(users[name])) for name in names]
    out.write_text("\n".join(tokens) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), staff=sys.argv[4:] == ["staff"])
