"""Domain errors of the economy; the problem handler renders them (SPEC §3.1 codes)."""

from core.problems import Problem


class InsufficientFunds(Problem):
    status_code = 409
    default_code = "insufficient_funds"
    default_detail = "The balance is too low for this spend."


class BalanceLimit(Problem):
    status_code = 422
    default_code = "balance_limit"
    default_detail = "This grant would take the balance above the currency's maximum."


class EarnLimitExceeded(Problem):
    status_code = 403
    default_code = "earn_limit_exceeded"
    default_detail = "This grant is over an earn rule's cap."


class IdempotencyKeyReused(Problem):
    status_code = 422
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used with another request (method, path or body)."
    )


class RequestInProgress(Problem):
    status_code = 409
    default_code = "request_in_progress"
    default_detail = "A request with this Idempotency-Key is still executing; retry shortly."


class IdempotencyClaimLost(RequestInProgress):
    """This request's claim on its key was taken over (it ran past the takeover timeout);
    its writes are rolled back and the request that took over is the one that counts."""


class AdjustmentNotAllowed(Problem):
    status_code = 403
    default_code = "permission_denied"
    default_detail = "Only active staff members may adjust balances."


class AdjustFormAlreadySubmitted(Problem):
    """Admin only: this rendered adjust form already made its one adjustment."""

    status_code = 409
    default_code = "form_already_submitted"
    default_detail = (
        "This form was already submitted and made its adjustment (see the ledger); nothing "
        "more was changed. Open the adjust form again to make another adjustment."
    )
