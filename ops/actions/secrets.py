"""Secrets Manager: database credentials read at the moment they are needed, never written anywhere."""
from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import ClientError

from ops.actions.aws import error_code

SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z]{2}(-[a-z]+)+-\d):\d{12}:secret:.+$")
NOT_READABLE = ("ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure",
                "InvalidRequestException")  # the last one: scheduled for deletion


def region_of(secret_arn: str) -> str:
    match = SECRET_ARN.match(secret_arn)
    if not match:
        raise ValueError(f"{secret_arn!r} is not a secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)")
    return match["region"]


def database_credentials(secretsmanager: Any, secret_arn: str) -> tuple[str, str]:
    """(username, password) of an RDS-style secret (JSON with at least those two keys). LookupError when the
    secret cannot be read, ValueError when it holds no such credentials; neither message contains a value."""
    try:
        text = secretsmanager.get_secret_value(SecretId=secret_arn).get("SecretString") or ""
    except ClientError as exc:
        code = error_code(exc)
        if code in NOT_READABLE:
            raise LookupError(f"{secret_arn}: cannot be read ({code})") from None
        raise
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise ValueError(f"{secret_arn}: not a JSON object (expected RDS's username/password secret)")
    missing = [key for key in ("username", "password") if not values.get(key)]
    if missing:
        raise ValueError(f"{secret_arn}: no {' or '.join(missing)} in the secret")
    return str(values["username"]), str(values["password"])
