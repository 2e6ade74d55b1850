"""Password hashing with the standard library's scrypt: a random salt per password, constant-time checks.

Stored form: ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``, so the cost can be raised later and old hashes
still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from service.auth.password_policy import MAX_LENGTH, check_policy

_ALGORITHM = "scrypt"
_LOG2_N, _R, _P = 14, 8, 1  # 16 MiB and ~50 ms per hash: slow for guessing, fine for a login
_SALT_BYTES, _KEY_BYTES = 16, 32


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=256 * n * r)


def hash_password(password: str, name: str | None = None) -> str:
    """A new salted hash of ``password``, which must meet the policy (for the user ``name``, when given)."""
    check_policy(password, name)
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _derive(password, salt, _LOG2_N, _R, _P)
    b64 = base64.b64encode
    return f"{_ALGORITHM}${_LOG2_N}${_R}${_P}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; False (never an error) for a malformed stored hash."""
    try:
        algorithm, log2_n, r, p, salt, key = stored.split("$")
        if algorithm != _ALGORITHM or len(password) > MAX_LENGTH:
            return False
        expected = base64.b64decode(key, validate=True)
        actual = _derive(password, base64.b64decode(salt, validate=True), int(log2_n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# A hash of a random password, checked when the user name is unknown so that a login takes as long for a
# missing user as for a wrong password (no user enumeration by timing).
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
