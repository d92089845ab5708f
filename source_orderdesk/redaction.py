"""Which store settings are secrets. Order Desk's `GET /store` has returned the store's own API key, its
SMTP and FTP credentials and integration tokens; none of that may reach a destination, nor a log.

A value is a secret when its name is secret-looking (`smtp_password`, `sftpPw`, `slack_webhook_url`), when
it is the value of a name/value pair whose name is (`{"name": "stripe_api_key", "value": "..."}`), or when
it is the password in a URL's userinfo (`https://user:pw@ftp.example.com/orders`)."""

from __future__ import annotations

import ast
import json
import logging
import re
from typing import Any, Optional, Union
from urllib.parse import unquote

# Whole words of a setting's name (split on `_`, `-`, spaces, digits and camelCase) that mark a secret.
# A webhook URL (Slack's, say) lets anyone who has it post as the store, so it is a credential too.
SECRET_WORDS = {
    "key", "apikey", "secret", "password", "passwd", "pwd", "pw", "pass", "passphrase", "token", "credential",
    "credentials", "auth", "authorization", "signature", "private", "smtp", "username", "login", "oauth", "cookie",
    "session", "webhook", "bearer", "hmac", "salt", "pin", "passcode", "pswd", "passwort", "jwt", "tkn", "sig",
}  # fmt: skip
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# Names written as one lowercase word (`smtppassword`, `apitoken`) have no word boundary to split on: these
# stems mark a secret anywhere in a name, separators removed (each too long to hide inside a harmless word).
SECRET_STEMS = re.compile(
    r"password|passwd|passphrase|secret|credential|webhook|apikey|privatekey|accesskey|signingkey"
    r"|apitoken|accesstoken|authtoken|refreshtoken|sessiontoken|bearertoken"
)
# The fields that name a pair's secret (`key` is then a name, not a secret), and the field that holds it.
_PAIR_NAME_FIELDS = ("name", "key", "label", "field")
_PAIR_VALUE_FIELD = "value"
# [scheme:]//user:password@host, also with JSON's escaped slashes (`https:\/\/`); the password is the last
# run before an `@` that ends the userinfo (a password may hold an unescaped `@`, as browsers accept).
_URL_PASSWORD = re.compile(r"(?P<head>(?:\b[A-Za-z][A-Za-z0-9+.-]*:)?(?:\\?/){2}[^\s/\\?#@:\"'<>]*):[^\s/\\?#\"'<>]*@")


def is_secret_name(name: str) -> bool:
    # Whole words only, so that `keyword_search` or `monkey` are not taken for a key; plurals count (`api_keys`).
    words = {word.lower() for word in _WORDS.findall(str(name))}
    if words & SECRET_WORDS or {word[:-1] for word in words if word.endswith("s")} & SECRET_WORDS:
        return True
    return SECRET_STEMS.search(re.sub(r"[^a-z]", "", str(name).lower())) is not None


def _pair_name_field(value: dict) -> Optional[str]:
    """In a name/value pair, the field that names it, e.g. `name` in `{"name": "stripe_api_key", "value": "..."}`."""
    if _PAIR_VALUE_FIELD in value:
        for field in _PAIR_NAME_FIELDS:
            if isinstance(value.get(field), str):
                return field
    return None


def _secret_fields(value: dict) -> set:
    """The fields of `value` that are secrets: those with a secret-looking name and, in a pair named by
    a secret-looking name, every field but that name (the secret may sit in any sibling)."""
    name_field = _pair_name_field(value)
    if name_field is not None:
        if is_secret_name(value[name_field]):
            return set(value) - {name_field}
        return {key for key in value if key != name_field and is_secret_name(key)}
    return {key for key in value if is_secret_name(key)}


# A URL's query parameter, e.g. `?token=...`: its value is masked when its name is secret-looking.
# Also at the start of a text (`password=...&user=bob`), in a fragment (`#access_token=`) and after `&amp;`;
# a percent-encoded name (`api%5Fkey`) is decoded before it is judged.
_QUERY_PARAMETER = re.compile(r"(?P<head>(?:^|[?&#;])(?P<name>[A-Za-z0-9_.%\-\[\]]{1,100})=)(?P<value>[^&#\s]*)")
# The name of a pair written as a list: a setting's name, not a sentence.
_PAIR_LIST_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,99}")


def _without_secrets_in_text(text: str, replacement: str) -> str:
    """A setting's text with the secrets inside it removed (or replaced): a JSON document's secret fields,
    a URL's password, and secret-named query parameters."""
    stripped = text.lstrip("\ufeff \t\r\n")  # a byte order mark too
    if stripped[:1] in ("{", "[") and len(text) < 1_000_000:
        try:
            document = json.loads(stripped)
        except ValueError:
            pass
        else:
            cleaned = masked(document) if replacement else without_secrets(document)
            if cleaned != document:
                return json.dumps(cleaned, ensure_ascii=False)
    text = without_url_passwords(text, replacement)
    if "=" in text:
        text = _QUERY_PARAMETER.sub(
            lambda match: match["head"] + MASK if match["value"] and is_secret_name(unquote(match["name"])) else match[0], text
        )
    return text


def _is_secret_pair(value: list) -> bool:
    """`["smtp_password", "..."]`: a name/value pair written as a list."""
    if len(value) != 2 or not isinstance(value[0], str) or isinstance(value[1], (dict, list)):
        return False
    return _PAIR_LIST_NAME.fullmatch(value[0]) is not None and is_secret_name(value[0])


def without_value(value: Any, secret: str) -> Any:
    """A copy of `value` without any entry or element whose text contains `secret` (the connector's own API key,
    which the store's settings may hold under any name)."""
    if not secret:
        return value
    if isinstance(value, dict):
        return {key: without_value(item, secret) for key, item in value.items() if not (isinstance(item, str) and secret in item)}
    if isinstance(value, list):
        return [without_value(item, secret) for item in value if not (isinstance(item, str) and secret in item)]
    return value


def without_url_passwords(text: str, replacement: str = "") -> str:
    """`text` with the password of every URL's userinfo removed (or replaced); the rest of the URL is kept."""
    if "@" not in text:  # the common case, cheaply
        return text
    return _URL_PASSWORD.sub(lambda match: match["head"] + (":" + replacement if replacement else "") + "@", text)


def without_secrets(value: Any) -> Any:
    """A copy of `value` with every secret removed, at any depth."""
    if isinstance(value, dict):
        secret = _secret_fields(value)
        return {key: without_secrets(item) for key, item in value.items() if key not in secret}
    if isinstance(value, list):
        if _is_secret_pair(value):
            return value[:1]
        return [without_secrets(item) for item in value]
    if isinstance(value, str):
        return _without_secrets_in_text(value, "")
    return value


MASK = "****"
# A quoted name followed by a colon: a JSON key, even in a body too broken to parse.
_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.){1,100})"\s*:')
# The name of a name/value pair, likewise.
_JSON_PAIR_NAME = re.compile(r'"(?:name|key)"\s*:\s*"((?:[^"\\]|\\.){1,100})"')
_RETRY_LOG_MARK = ", Response Content: "


def masked(value: Any) -> Any:
    """A copy of `value` with every secret, at any depth, replaced by `****`."""
    if isinstance(value, dict):
        secret = _secret_fields(value)
        return {key: MASK if key in secret else masked(item) for key, item in value.items()}
    if isinstance(value, list):
        if _is_secret_pair(value):
            return [value[0], MASK]
        return [masked(item) for item in value]
    if isinstance(value, str):
        return _without_secrets_in_text(value, MASK)
    return value


def masked_body(body: Union[str, bytes]) -> str:
    """A response body fit for a log: JSON with every secret masked. A body that is not JSON (a cut-off
    answer) is kept with URL passwords masked, unless it holds a secret-named key or pair: then only its
    length is."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        return json.dumps(masked(json.loads(text)), ensure_ascii=False)
    except ValueError:
        names = _JSON_KEY.findall(text) + _JSON_PAIR_NAME.findall(text)
        if any(is_secret_name(name) for name in names):
            return f"({len(text)} characters not logged: a body that is not JSON, with secret-looking keys)"
        return without_url_passwords(text, MASK)


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
