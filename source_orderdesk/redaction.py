"""Which store settings are secrets. Order Desk's `GET /store` has returned the store's own API key and
its SMTP credentials; none of that may reach a destination, nor a log."""

from __future__ import annotations

import ast
import json
import logging
import re
from typing import Any, Union

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


MASK = "****"
# A quoted name followed by a colon: a JSON key, even in a body too broken to parse.
_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.){1,100})"\s*:')
_RETRY_LOG_MARK = ", Response Content: "


def masked(value: Any) -> Any:
    """A copy of `value` with the value of every secret-named entry, at any depth, replaced by `****`."""
    if isinstance(value, dict):
        return {key: MASK if is_secret_name(key) else masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def masked_body(body: Union[str, bytes]) -> str:
    """A response body fit for a log: JSON with every secret-named value masked. A body that is not JSON
    is kept as it is, unless it holds a secret-named key (a cut-off answer): then only its length is."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        return json.dumps(masked(json.loads(text)), ensure_ascii=False)
    except ValueError:
        if any(is_secret_name(key) for key in _JSON_KEY.findall(text)):
            return f"({len(text)} characters not logged: a body that is not JSON, with secret-looking keys)"
        return text


class MaskSecretsInLoggedBodies(logging.Filter):
    """Masks secrets in the response bodies the CDK logs; see `mask_secrets_in_logged_bodies`."""

    def filter(self, record: logging.LogRecord) -> bool:
        body = getattr(record, "body", None)
        if isinstance(body, (str, bytes)):
            record.body = masked_body(body)
        if isinstance(record.msg, str) and record.msg.startswith("Status code: ") and _RETRY_LOG_MARK in record.msg:
            head, _, content = record.msg.partition(_RETRY_LOG_MARK)
            try:
                raw = ast.literal_eval(content)  # the body's repr, as the CDK wrote it
            except (ValueError, SyntaxError):
                raw = content
            record.msg = head + _RETRY_LOG_MARK + masked_body(raw if isinstance(raw, (str, bytes)) else content)
        return True


def mask_secrets_in_logged_bodies(stream_logger: logging.Logger) -> None:
    """Masks secret-named values in each response body that the CDK logs for a stream whose answers hold
    secrets (the store's settings are not in the config, so the CDK's masking by value misses them):

    * with `--debug`, "Receiving response" on the stream's logger, the body in the record's `body`;
    * at INFO, before retrying an HTTP 2xx answer (one that is not JSON, or says `"status": "error"`),
      "Status code: ..., Response Content: b'...'" on the "airbyte" logger (it does not say which stream).

    Masking by name, on the parsed body, also finds a secret however the JSON escapes it (Order Desk
    writes `/` as `\\/`). A logger's filters see each record it logs before any handler formats it.
    """
    for logger in (stream_logger, logging.getLogger("airbyte")):
        if not any(isinstance(existing, MaskSecretsInLoggedBodies) for existing in logger.filters):
            logger.addFilter(MaskSecretsInLoggedBodies())
