"""Generate valid (and optionally some invalid) server events as JSON Lines, for benchmarks and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def event(i: int, prefix: str = "evt_bench") -> dict[str, Any]:
    """A valid order.confirmed flight event whose id and orderId depend on ``i``."""
    return {
        "userId": f"rapido_user_{i % 997}",
        "event": {"type": "order.confirmed", "id": f"{prefix}_{i:08d}"},
        "attributes": {
            "orderId": f"FL_BOOKING_{i:08d}",
            "orderStatus": "CONFIRMED",
            "amount_total": 8500 + i % 1000,
            "location_origin_lat": 28.5562,
            "location_origin_long": 77.1,
            "location_dest_lat": 12.9716,
            "location_dest_long": 77.5946,
            "start_time": 1708156800,
            "end_time": 1708163000,
            "hostStatus": "CONFIRMED",
            "tz": "Asia/Kolkata",
        },
        "schemaVersion": 1,
    }


def write_events(path: Path, n: int, *, prefix: str = "evt_bench", invalid_every: int = 0) -> Path:
    """Write ``n`` lines; every ``invalid_every``-th line (if > 0) is an invalid event."""
    with open(path, "wb") as fh:
        for i in range(1, n + 1):
            if invalid_every and i % invalid_every == 0:
                bad = event(i, prefix)
                bad["attributes"]["start_time"] = "yesterday"
                fh.write(orjson.dumps(bad) + b"\n")
            else:
                fh.write(orjson.dumps(event(i, prefix)) + b"\n")
    return path
