from core.problems import Problem


class InvalidCredentials(Problem):
    status_code = 401
    default_code = "invalid_credentials"
    default_detail = "The userId or password is wrong."


class AccountBanned(Problem):
    status_code = 403
    default_code = "account_banned"
    default_detail = "This account is banned."


class StaffPasswordElsewhere(Problem):
    """A staff account's password is also the admin's: it changes in the admin only."""

    status_code = 403
    default_code = "permission_denied"
    default_detail = "Staff accounts change their password in the admin, not through the API."


class AccountLocked(Problem):
    status_code = 429
    default_code = "account_locked"
    default_detail = "Too many failed password logins; try again later."


class TokenInvalid(Problem):
    status_code = 401
    default_code = "token_invalid"
    default_detail = "The token is not valid."
