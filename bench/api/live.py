"""The "live game" scenario: an open-model load of many players each acting every ~10 seconds.

Arrivals are scheduled in advance (each player starts at a random offset and then acts every
interval x U(0.8, 1.2)) and fired on time whether or not earlier requests have finished, so a
slow server makes latency grow instead of slowing the load (no coordinated omission). Latency
is measured from the scheduled time. Actions: login, event, balance, earn, spend; a spend is
only sent when the player's confirmed balance covers it (else the player earns), so every
outcome is expected to be 2xx and the final balances are known exactly.

Usage: python bench/api/live.py --url http://127.0.0.1:PORT --tokens FILE --prefix live
       --players 10000 --interval 10 --duration 40 --balances-out FILE
Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

ACTIONS = [("login", 4), ("event", 36), ("balance", 35), ("earn", 15), ("spend", 10)]
EARN_AMOUNT = 10
SPEND_AMOUNT = 5
REQUEST_TIMEOUT = 10.0
MAX_CONNECTIONS = 256
EVENT_TYPES = ["level_start", "level_complete", "ad_watched", "item_used", "session_ping"]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


class HttpPool:
    """A minimal HTTP/1.1 keep-alive client: just enough for JSON requests on loopback."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.open = 0
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def request(
        self, method: str, path: str, token: str | None, body: bytes | None
    ) -> tuple[int, bytes]:
        async with self.slots:
            if self.idle:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            if token:
                head += f"Authorization: Bearer {token}\r\n"
            if body is not None:
                head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            try:
                writer.write(head.encode() + b"\r\n" + (body or b""))
                raw = await reader.readuntil(b"\r\n\r\n")
                lines = raw.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                if "content-length" in headers:
                    payload = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    payload = b""
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                        chunk = await reader.readexactly(size + 2)
                        if size == 0:
                            break
                        payload += chunk[:-2]
                else:
                    payload = await reader.read()
            except BaseException:
                writer.close()
                raise
            if headers.get("connection", "").lower() == "close":
                writer.close()
            else:
                self.idle.append((reader, writer))
            return status, payload


async def run(args: argparse.Namespace) -> dict[str, object]:
    parts = urlsplit(args.url)
    pool = HttpPool(parts.hostname or "127.0.0.1", parts.port or 80)
    tokens = Path(args.tokens).read_text().split()[: args.players]
    players = len(tokens)
    rng = random.Random(args.seed)
    arrivals: list[tuple[float, int]] = []
    for player in range(players):
        at = rng.uniform(0, args.interval)
        while at < args.duration:
            arrivals.append((at, player))
            at += args.interval * rng.uniform(0.8, 1.2)
    arrivals.sort()

    confirmed = [0] * players
    reserved = [0] * players
    latencies: dict[str, list[float]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    lags: list[float] = []
    names, weights = zip(*ACTIONS, strict=True)

    async def act(player: int, scheduled: float) -> None:
        action = rng.choices(names, weights)[0]
        if action == "spend" and confirmed[player] - reserved[player] < SPEND_AMOUNT:
            action = "earn"
        token = tokens[player]
        body: bytes | None = None
        if action == "login":
            method, path, token_sent = "POST", "/login", None
            body = json.dumps({"userId": f"{args.prefix}_{player}"}).encode()
        elif action == "event":
            method, path, token_sent = "POST", "/event", token
            body = json.dumps(
                {
                    "eventType": rng.choice(EVENT_TYPES),
                    "meta": {"level": rng.randint(1, 200), "score": rng.randint(0, 10**6)},
                }
            ).encode()
        elif action == "balance":
            method, path, token_sent = "GET", "/balance", token
        else:
            amount = EARN_AMOUNT if action == "earn" else SPEND_AMOUNT
            method, path, token_sent = "POST", f"/{action}", token
            body = json.dumps({"amount": amount, "reason": f"live_{action}"}).encode()
            if action == "spend":
                reserved[player] += SPEND_AMOUNT
        try:
            status, payload = await asyncio.wait_for(
                pool.request(method, path, token_sent, body), REQUEST_TIMEOUT
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            status, payload = 0, type(exc).__name__.encode()
        finished = time.monotonic()
        latencies[action].append(finished - (start + scheduled))
        if action == "spend":
            reserved[player] -= SPEND_AMOUNT
        if 200 <= status < 300:
            outcomes[action] += 1
            if action == "earn":
                confirmed[player] += EARN_AMOUNT
            elif action == "spend":
                confirmed[player] -= SPEND_AMOUNT
            elif action == "login":
                tokens[player] = json.loads(payload)["token"]
        else:
            errors[f"{action}:{status or payload.decode()}"] += 1

    start = time.monotonic() + 0.5
    tasks = set()
    for at, player in arrivals:
        delay = start + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(time.monotonic() - (start + at))
        task = asyncio.create_task(act(player, at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_by = time.monotonic()
    if tasks:
        await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 5)
    elapsed = sent_by - start

    every = sorted(value for values in latencies.values() for value in values)
    lags.sort()
    per_action = {
        action: {
            "count": len(values),
            "p50_ms": round(percentile(sorted(values), 50) * 1000, 1),
            "p95_ms": round(percentile(sorted(values), 95) * 1000, 1),
            "p99_ms": round(percentile(sorted(values), 99) * 1000, 1),
        }
        for action, values in sorted(latencies.items())
    }
    Path(args.balances_out).write_text(
        json.dumps({f"{args.prefix}_{p}": confirmed[p] for p in range(players) if confirmed[p]})
    )
    return {
        "players": players,
        "interval_s": args.interval,
        "duration_s": round(elapsed, 1),
        "scheduled": len(arrivals),
        "completed": len(every),
        "ok": sum(outcomes.values()),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(10)),
        "offered_rps": round(len(arrivals) / args.duration, 1),
        # Goodput: answers that were 2xx (a timed-out request completed nothing).
        "achieved_rps": round(sum(outcomes.values()) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(every, 50) * 1000, 1),
        "p95_ms": round(percentile(every, 95) * 1000, 1),
        "p99_ms": round(percentile(every, 99) * 1000, 1),
        "max_ms": round(every[-1] * 1000, 1) if every else 0.0,
        "generator_lag_p99_ms": round(percentile(lags, 99) * 1000, 1),
        "actions": per_action,
        "successful_earns": outcomes["earn"],
        "successful_spends": outcomes["spend"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--players", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--balances-out", required=True)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
