"""Which store settings are secrets. Order Desk's `GET /store` has returned the store's own API key and
its SMTP credentials; none of that may reach a destination."""

from __future__ import annotations

import re
from typing import Any

# Whole words of a setting's name (split on `_`, `-`, spaces and camelCase) that mark a secret.
SECRET_WORDS = {
    "key", "apikey", "secret", "password", "passwd", "pwd", "pass", "token", "credential", "credentials",
    "auth", "authorization", "signature", "private", "smtp", "username", "login", "oauth", "cookie", "session",
}  # fmt: skip
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def is_secret_name(name: str) -> bool:
    words = {word.lower() for word in _WORDS.findall(str(name))}
    return bool(words & SECRET_WORDS)


def without_secrets(value: Any) -> Any:
    """A copy of `value` with every secret-named entry removed, at any depth."""
    if isinstance(value, dict):
        return {key: without_secrets(item) for key, item in value.items() if not is_secret_name(key)}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value
