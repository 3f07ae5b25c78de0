"""Shared by the API benchmark and the fault drills: PostgreSQL, databases, gunicorn, players."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
# A fixed secret for the throwaway loopback server of a benchmark or drill, never a deployment.
JWT_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"  # noqa: S105


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def postgres_url() -> str:
    """The URL of the local PostgreSQL that bin/postgres starts (and installs when missing)."""
    result = subprocess.run(
        [str(ROOT / "bin" / "postgres")], check=True, capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_recreate(admin_url: str, name: str) -> str:
    """Drop and create database `name` next to `admin_url`'s; returns its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings for a loopback server: DEBUG off, a real secret, no TLS redirect."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING"}}
    env.update(
        {
            "DEBUG": "false",
            "ENV_FILE": "/dev/null",
            "JWT_SECRET": JWT_SECRET,
            "DATABASE_URL": database_url,
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "METRICS_ALLOW_LOOPBACK": "true",  # served_ok() scrapes /metrics without a token
            "THROTTLE_LOGIN": "10000000/min",
            "THROTTLE_WRITES": "10000000/min",
            "THROTTLE_TRACK": "10000000/min",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "gamebackend.settings",
        }
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=check, capture_output=True, text=True
    )


def migrate(env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")


def players_create(
    env: dict[str, str], prefix: str, count: int, out: Path, *, staff: bool = False
) -> list[str]:
    """Bulk-create `count` players named `<prefix>_<n>` and write one access token per line."""
    subprocess.run(
        [PY, str(ROOT / "bench" / "players.py"), prefix, str(count), str(out)]
        + (["staff"] if staff else []),
        cwd=ROOT,
        env=env,
        check=True,
    )
    return out.read_text().split()


def http_get(url: str, timeout: float = 5.0, headers: dict[str, str] | None = None):
    """(status, headers, body bytes, seconds); status 0 with the error text on socket errors."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback only)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return (
                response.status,
                dict(response.headers),
                response.read(),
                time.monotonic() - started,
            )
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read(), time.monotonic() - started
    except (OSError, TimeoutError) as error:
        return 0, {}, str(error).encode(), time.monotonic() - started


_static_collected: set[str] = set()  # collectstatic once per STATIC_ROOT and process


@dataclass
class Server:
    """gunicorn with gunicorn.conf.py on 127.0.0.1:<free port>; environment overrides its knobs."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    name = "gunicorn"

    def command(self) -> list[str]:
        return [GUNICORN, "-c", "gunicorn.conf.py", "gamebackend.wsgi"]

    def launch_env(self) -> dict[str, str]:
        env = {**self.env, "BIND": f"127.0.0.1:{self.port}"}
        static_root = env.get("STATIC_ROOT", "staticfiles")
        if static_root not in _static_collected:
            # A production start needs the static files manifest (core.checks).
            manage(env, "collectstatic", "--noinput", "-v", "0")
            _static_collected.add(static_root)
        return env

    def start(self, wait_path: str = "/health", timeout: float = 60) -> None:
        """Start `command()` and wait until `wait_path` answers 200."""
        env = self.launch_env()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            status, *_ = http_get(self.url + wait_path, timeout=2)
            if status == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer {wait_path} within {timeout} s")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running(server: Server, wait_path: str = "/health") -> Iterator[Server]:
    server.start(wait_path)
    try:
        yield server
    finally:
        server.stop()


def query(database_url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:  # type: ignore[type-arg]
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()


def coins_balances(database_url: str, prefix: str) -> dict[str, int]:
    """Balances of the `coins` wallets of players whose userId starts with `<prefix>_`."""
    rows = query(
        database_url,
        "SELECT u.username, w.balance FROM economy_wallet w "
        "JOIN accounts_user u ON u.id = w.player_id "
        "JOIN economy_currency c ON c.id = w.currency_id "
        "WHERE c.code = 'coins' AND u.username LIKE %s",
        (prefix + "\\_%",),
    )
    return {username: int(balance) for username, balance in rows}


def ledger_verify(env: dict[str, str]) -> tuple[bool, str]:
    result = manage(env, "ledger_verify", check=False)
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def served_ok(server_url: str, route: str, method: str = "POST") -> int:
    """The server's own count of 2xx answers on a route, from /metrics (all workers), once
    the requests still in flight have finished (two equal readings 0.5 s apart).

    A load generator stopping at its deadline leaves requests in flight whose answers it never
    reads, though the server executed them; the server's count is the exact one.
    """
    previous = -1
    for _ in range(60):
        current = _served_ok_once(server_url, route, method)
        if current == previous:
            return current
        previous = current
        time.sleep(0.5)
    raise RuntimeError(f"the count of {route} answers did not settle")


def _served_ok_once(server_url: str, route: str, method: str) -> int:
    status, _, body, _ = http_get(server_url + "/metrics", timeout=10)
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    total = 0
    pattern = re.compile(
        r'^gamebackend_http_requests_total\{method="(?P<m>[^"]*)",route="(?P<r>[^"]*)",'
        r'status="(?P<s>\d+)"\} (?P<v>[0-9.e+]+)$'
    )
    for line in body.decode().splitlines():
        match = pattern.match(line)
        if match and match["m"] == method and match["r"] == route and match["s"].startswith("2"):
            total += int(float(match["v"]))
    return total


def dump_json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
