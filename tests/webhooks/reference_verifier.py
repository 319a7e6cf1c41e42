"""An independent Standard Webhooks verifier, written from the spec text for the tests.

Nothing here imports listening.webhooks: a bug shared by our signer and our verifier cannot hide.
Spec, "Verifying signatures": key = base64-decoded secret after ``whsec_``; signed content =
``{webhook-id}.{webhook-timestamp}.{body}``; HMAC-SHA256, base64; header = space-separated
``v1,<sig>`` entries, any one may match; timestamp within a tolerance of now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def spec_verify(headers: Mapping[str, str], body: bytes, secret: str, now: int, tolerance: int = 300) -> bool:
    lower = {k.lower(): v for k, v in headers.items()}
    key = base64.b64decode(secret.removeprefix("whsec_"))
    ts = int(lower["webhook-timestamp"])
    if abs(now - ts) > tolerance:
        return False
    content = lower["webhook-id"].encode() + b"." + str(ts).encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for sig in lower["webhook-signature"].split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False
