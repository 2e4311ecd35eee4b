"""Function integrations of the petstore sample.

The gateway calls these with an AWS Lambda proxy event (payload 2.0 here) and
turns the returned dict into the HTTP response, so an existing Lambda handler
runs unchanged.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["adopt_pet"]


def adopt_pet(event: dict[str, Any], context: object) -> dict[str, Any]:
    pet_id = int(event["pathParameters"]["petId"])
    body = json.loads(event.get("body") or "{}")
    adopter = str(body["adopter"])
    certificate = hashlib.sha256(f"{pet_id}:{adopter}".encode()).hexdigest()[:16]
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"petId": pet_id, "adopter": adopter, "certificate": certificate}),
    }
