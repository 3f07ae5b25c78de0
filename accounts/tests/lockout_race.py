"""Concurrent password logins against one account, in any database (run by the lockout tests).

`check_password` is wrapped to count the passwords really checked and to take as long as a
production hash, so the racing requests overlap while they are being checked; a wrong password
can also be held inside the check until the caller releases it. Run as a module it is the SQLite
race on a real database file (pytest-django's SQLite test database is in memory with a shared
cache, whose locking is not production's), and prints one line of figures per scenario.
"""

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

PASSWORD = "correct horse battery staple"
HASH_SECONDS = 0.2


class CheckCounter:
    """Wraps User.check_password: counts calls, sleeps like a real hash, and holds wrong
    passwords until `release` is set when `hold` is on."""

    def __init__(self, *, hold: bool = False) -> None:
        self.lock = threading.Lock()
        self.checked: list[bool] = []  # per check: was the password right
        self.hold = hold
        self.release = threading.Event()

    def wrap(self, original: Callable[[Any, str], bool]) -> Callable[[Any, str], bool]:
        from django.db import connection

        def check_password(user: Any, raw_password: str) -> bool:
            right = raw_password == PASSWORD
            with self.lock:
                self.checked.append(right)
            if self.hold and not right:
                # Hand the database connection back while held (no transaction is open during
                # the check), so the held requests do not use up the connection pool.
                connection.close()
                self.release.wait(timeout=30)
            time.sleep(HASH_SECONDS)
            return original(user, raw_password)

        return check_password

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.checked) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.checked)} of {count} checks started")
            time.sleep(0.01)


@contextmanager
def counting_checks(*, hold: bool = False) -> Iterator[CheckCounter]:
    from accounts.models import User

    counter = CheckCounter(hold=hold)
    original = User.check_password
    User.check_password = counter.wrap(original)  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        User.check_password = original  # type: ignore[method-assign]
        counter.release.set()


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(index)` in `count` threads released together by a Barrier; return results."""
    from django.db import connection

    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def main(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # reported below, so a failure in a thread fails the run
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=main, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise RuntimeError(f"{len(errors)} thread(s) failed: {errors[:3]!r}")
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("a thread did not finish")
    return results


def login_status(user_id: str, password: str | None) -> int:
    """The HTTP status /login would answer, through the service it calls."""
    from accounts import services
    from accounts.errors import AccountLocked, InvalidCredentials

    try:
        services.player_login(user_id=user_id, password=password, click_id=None)
    except InvalidCredentials:
        return 401
    except AccountLocked:
        return 429
    return 200


def burst_of_wrong_passwords(user_id: str, threads: int) -> tuple[Counter[int], int]:
    """`threads` wrong passwords at once: (statuses, passwords checked)."""
    with counting_checks() as counter:
        statuses = run_together(threads, lambda _: login_status(user_id, "wrong password"))
    return Counter(statuses), len(counter.checked)


def right_password_after_a_burst(
    user_id: str, login: Callable[[str, str], int]
) -> tuple[int, Counter[int], int]:
    """Five wrong passwords are being checked when the right one arrives: (status of the right
    one, statuses of the wrong ones, passwords checked)."""
    from django.db import connection

    with counting_checks(hold=True) as counter:
        statuses: list[int] = []

        def wrong() -> None:
            try:
                statuses.append(login(user_id, "wrong password"))
            finally:
                connection.close()

        workers = [threading.Thread(target=wrong) for _ in range(5)]
        for worker in workers:
            worker.start()
        counter.wait_for(5)
        right = login(user_id, PASSWORD)
        counter.release.set()
        for worker in workers:
            worker.join(timeout=60)
    return right, Counter(statuses), len(counter.checked)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gamebackend.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    from accounts.models import User

    call_command("migrate", verbosity=0)
    for name in ("burst", "right"):
        user = User(username=name)
        user.set_password(PASSWORD)
        user.save()

    statuses, checked = burst_of_wrong_passwords("burst", 12)
    locked = User.objects.get(username="burst").locked_until is not None
    print("burst", statuses[401], statuses[429], statuses[200], checked, int(locked))

    right, wrong, checked = right_password_after_a_burst("right", login_status)
    tokens = OutstandingToken.objects.count()
    print("right", right, wrong[401], wrong[429], checked, tokens)


if __name__ == "__main__":
    main()
