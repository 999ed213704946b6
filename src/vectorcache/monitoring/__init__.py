"""Monitoring: the request log and its rollups, analytics, ``/metrics``, alerts and retention.

Built by ``Monitoring.open`` inside the runtime (no module-level state); depends on the store
and the service's write-behind ``EventWriter``, never the other way round.
"""

from __future__ import annotations

__all__: list[str] = []
