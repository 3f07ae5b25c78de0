"""`Idempotency-Key` on /earn and /spend: Stripe's model (SPEC §4 and §3.1).

Flow of a request that carries a key, after its body validated (400s are never stored):

1. `idempotency_claim` inserts an in-progress record for (player, key) in its own short
   transaction. If the key exists: the same fingerprint and done → the stored response is
   replayed; another fingerprint → 422 `idempotency_key_reused`; still in progress → 409
   `request_in_progress`, unless the claim is older than `TAKEOVER_AFTER` (its process died),
   in which case this request takes it over. A record older than the TTL counts as new.
2. The operation runs. On success the service calls `IdempotencyClaim.record_success` inside
   its own transaction, so the ledger entry and the stored 200 commit together or not at all.
   A refusal (403/409/422 domain problem) rolls the operation back and is stored afterwards;
   a crash in between leaves an in-progress claim that a retry takes over: nothing was written.
3. Any other error releases the claim (deletes the record), so the client may simply retry.

Every store is fenced by the claim token: a request whose claim was taken over can never
store an outcome, and its ledger write rolls back with `IdempotencyClaimLost`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from core.problems import (
    PROBLEM_CONTENT_TYPE,
    InvalidInput,
    Problem,
    problem_body,
    problem_code,
)
from economy.errors import IdempotencyClaimLost, IdempotencyKeyReused, RequestInProgress
from economy.models import IdempotencyRecord, LedgerEntry

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 128
# A claim still in progress after this long belongs to a process that died.
TAKEOVER_AFTER = timedelta(seconds=60)
# Outcomes of the operation that are stored and replayed (SPEC §3.1); 400s never are.
STORED_PROBLEM_STATUSES = frozenset({403, 409, 422})
JSON_CONTENT_TYPE = "application/json"

State = IdempotencyRecord.State


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content: bytes
    content_type: str


@dataclass
class IdempotencyClaim:
    """This request's hold on an in-progress idempotency record."""

    record_pk: int
    key: str
    token: uuid.UUID
    render_success: Callable[[LedgerEntry], dict[str, Any]]
    response: StoredResponse | None = field(default=None)

    def record_success(self, entry: LedgerEntry) -> None:
        """Store the 200 response for `entry`; call it in the transaction that wrote `entry`."""
        self.store(
            StoredResponse(
                status=200,
                content=JSONRenderer().render(self.render_success(entry)),
                content_type=JSON_CONTENT_TYPE,
            )
        )

    def store(self, response: StoredResponse) -> None:
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("IdempotencyClaim.store() must run inside transaction.atomic().")
        stored = IdempotencyRecord.objects.filter(
            pk=self.record_pk, claim_token=self.token, state=State.IN_PROGRESS
        ).update(
            state=State.DONE,
            response_status=response.status,
            response_content_type=response.content_type,
            response_body=response.content,
        )
        if stored != 1:
            raise IdempotencyClaimLost()
        self.response = response


def idempotency_key_from(request: Request) -> str | None:
    """The request's `Idempotency-Key`, None when absent; empty or over 128 chars is a 400."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(
            {KEY_HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} characters."]}, code="invalid_length"
        )
    return key


def request_fingerprint(*, method: str, path: str, body: Any) -> str:
    """sha256 of the method, the path and the parsed body with sorted keys (no defaults)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()}\n{path}\n{canonical}".encode()).hexdigest()


def idempotency_claim(
    *,
    player: User,
    key: str,
    fingerprint: str,
    render_success: Callable[[LedgerEntry], dict[str, Any]],
) -> IdempotencyClaim | StoredResponse:
    """Claim (player, key) for execution, or return the stored response to replay."""
    for _attempt in range(3):
        now = timezone.now()
        token = uuid.uuid4()
        try:
            with transaction.atomic(durable=True):
                record = IdempotencyRecord.objects.create(
                    player=player,
                    key=key,
                    fingerprint=fingerprint,
                    state=State.IN_PROGRESS,
                    claim_token=token,
                    created_at=now,
                    started_at=now,
                )
            return IdempotencyClaim(record.pk, key, token, render_success)
        except IntegrityError:
            pass  # the key exists: decide under its row lock
        with transaction.atomic(durable=True):
            existing = (
                IdempotencyRecord.objects.select_for_update().filter(player=player, key=key).first()
            )
            if existing is None:
                continue  # pruned in between; insert again
            if existing.created_at <= _expired_before(now):
                existing.created_at = now
                existing.fingerprint = fingerprint
                existing.response_status = None
                existing.response_content_type = ""
                existing.response_body = None
                return _take_over(existing, key=key, now=now, render_success=render_success)
            if existing.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            if existing.state == State.DONE:
                return StoredResponse(
                    status=existing.response_status or 0,
                    content=bytes(existing.response_body or b""),
                    content_type=existing.response_content_type,
                )
            if existing.started_at <= now - TAKEOVER_AFTER:
                logger.warning(
                    "taking over an abandoned idempotency claim",
                    extra={"idempotency_key": key, "claimed_at": existing.started_at.isoformat()},
                )
                return _take_over(existing, key=key, now=now, render_success=render_success)
            raise RequestInProgress()
    raise RequestInProgress()


def _expired_before(now: datetime) -> datetime:
    return now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def _take_over(
    record: IdempotencyRecord,
    *,
    key: str,
    now: datetime,
    render_success: Callable[[LedgerEntry], dict[str, Any]],
) -> IdempotencyClaim:
    record.state = State.IN_PROGRESS
    record.claim_token = uuid.uuid4()
    record.started_at = now
    record.save()
    return IdempotencyClaim(record.pk, key, record.claim_token, render_success)


def idempotency_claim_release(claim: IdempotencyClaim) -> None:
    """Forget a claim whose operation failed unexpectedly (nothing was written), so a retry
    runs at once instead of waiting for the takeover timeout."""
    try:
        with transaction.atomic(durable=True):
            IdempotencyRecord.objects.filter(
                pk=claim.record_pk, claim_token=claim.token, state=State.IN_PROGRESS
            ).delete()
    except DatabaseError:
        logger.exception("could not release an idempotency claim; it will be taken over")


def problem_stored_response(exc: Problem) -> StoredResponse:
    """The problem response exactly as the exception handler would render it."""
    body = problem_body(
        status=exc.status_code,
        code=problem_code(exc),
        detail=str(exc.detail),
        title=exc.title,
        **exc.extra,
    )
    return StoredResponse(
        status=exc.status_code,
        content=JSONRenderer().render(body),
        content_type=PROBLEM_CONTENT_TYPE,
    )


def idempotent_execute(
    *,
    request: Request,
    player: User,
    key: str,
    operation: Callable[[IdempotencyClaim], LedgerEntry],
    render_success: Callable[[LedgerEntry], dict[str, Any]],
) -> HttpResponse:
    """Run `operation` at most once for (player, key) and answer with its first outcome."""
    fingerprint = request_fingerprint(
        method=request.method or "", path=request.path, body=request.data
    )
    claimed = idempotency_claim(
        player=player, key=key, fingerprint=fingerprint, render_success=render_success
    )
    if isinstance(claimed, StoredResponse):
        return _http_response(claimed, replayed=True)
    claim = claimed
    try:
        operation(claim)
    except IdempotencyClaimLost:
        raise
    except Problem as exc:
        if exc.status_code not in STORED_PROBLEM_STATUSES:
            idempotency_claim_release(claim)
            raise
        refusal = problem_stored_response(exc)
        with transaction.atomic(durable=True):
            claim.store(refusal)
        return _http_response(refusal, replayed=False)
    except BaseException:
        idempotency_claim_release(claim)
        raise
    if claim.response is None:
        raise RuntimeError("the operation returned without storing its response")
    return _http_response(claim.response, replayed=False)


def _http_response(stored: StoredResponse, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(stored.content, status=stored.status, content_type=stored.content_type)
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response
