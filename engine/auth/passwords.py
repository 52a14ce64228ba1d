"""Password hashing with scrypt (stdlib hashlib; memory-hard, salted)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# n=2**14, r=8, p=1: ~16 MiB and ~40 ms per hash on this machine; a brute-force
# attacker pays the same for each guess.
N, R, P = 2 ** 14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return "scrypt${}${}${}${}${}".format(
        N, R, P, base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        # Spend the same time as a real check so unknown users are not told apart.
        hashlib.scrypt(password.encode(), salt=b"0" * 16, n=N, r=R, p=P, dklen=32)
        return False
    _, n, r, p, salt, digest = stored.split("$")
    check = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                           p=int(p), dklen=32)
    return hmac.compare_digest(check, base64.b64decode(digest))


def new_token() -> str:
    return "loom_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are stored as SHA-256: they are long random secrets, not passwords."""
    return hashlib.sha256(token.encode()).hexdigest()
