"""What a password must be: long enough once blanks are set aside, not one character repeated or a keyboard or
digit run, and not one of the passwords every guessing list starts with."""

from __future__ import annotations

from domain.errors import PasswordError

MIN_LENGTH, MAX_LENGTH = 8, 256  # the upper bound keeps a hash request cheap to refuse
# Runs that guessing lists try first, as typed on a keyboard or counted.
_RUNS = ("0123456789", "1234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm", "1qaz2wsx")
# The head of the leaked-password lists (international and Chinese), lower-cased; runs and repeats are caught above.
COMMON = frozenset(
    [
        "password",
        "password1",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "iloveyou",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome",
        "welcome1",
        "admin123",
        "administrator",
        "letmein",
        "trustno1",
        "whatever",
        "superman",
        "starwars",
        "dragon",
        "monkey",
        "abc12345",
        "a1234567",
        "aa123456",
        "qwerty123",
        "qwe12345",
        "1q2w3e4r",
        "1qaz2wsx",
        "zaq12wsx",
        "woaini1314",
        "woaini520",
        "5201314520",
        "iloveyou1",
        "changeme",
        "changeit",
        "gridwatch",
        "gridwatch1",
        "secret123",
        "default1",
        "computer",
        "internet",
    ]
)


def _is_run(text: str) -> bool:
    """One character repeated, or a stretch of a keyboard row or of counting (either way round)."""
    if len(set(text)) == 1:
        return True
    return any(text in run or text in run[::-1] for run in _RUNS)


def check_policy(password: str, name: str | None = None) -> None:
    """Refuse a password that is too short or long, blank, a run, a common one, or the user's name itself."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise PasswordError(f"a password needs {MIN_LENGTH} to {MAX_LENGTH} characters")
    core = password.strip()
    if len(core) < MIN_LENGTH:
        raise PasswordError(f"a password needs {MIN_LENGTH} characters besides leading and trailing blanks")
    lowered = core.lower()
    if _is_run(lowered) or lowered in COMMON:
        raise PasswordError("this password is among the first that attackers try; choose another")
    if name is not None and lowered == name.lower():
        raise PasswordError("a password must not be the user's name")
