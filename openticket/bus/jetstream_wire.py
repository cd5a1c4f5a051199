"""How an event travels on NATS: its subject there and its JSON body."""

from __future__ import annotations

import json
from datetime import datetime

from openticket.core.events import Envelope


def nats_subject(stream: str, subject: str) -> str:
    """`ticket:created` -> `OPENTICKET.ticket.created`."""
    return f"{stream}.{subject.replace(':', '.')}"


def encode(envelope: Envelope) -> bytes:
    return json.dumps(
        {
            "id": envelope.id,
            "subject": envelope.subject,
            "occurred_at": envelope.occurred_at.isoformat(),
            "seq": envelope.sequence,
            "data": envelope.data,
        },
        separators=(",", ":"),
    ).encode()


def decode(payload: bytes) -> Envelope:
    body = json.loads(payload)
    return Envelope(
        body["id"], body["subject"], datetime.fromisoformat(body["occurred_at"]), body["data"],
        int(body["seq"]),
    )  # fmt: skip
