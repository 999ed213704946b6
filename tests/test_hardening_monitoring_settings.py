"""Issue 22: a project's monitoring settings and the server's own settings are bounded.

Before, ``{"rules": {"usage_spike": {"days": 1000000000}}}`` was stored and made every alert
period build a billion-item list (the server froze); a start time of ``"25:00"`` made the
after-hours rule fail every period, unseen; ``true`` passed as a retention or cache number.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Tenant
from pydantic import ValidationError

from vectorcache.cli.main import settings_problem
from vectorcache.settings import Settings

REFUSED: list[dict[str, Any]] = [
    {"rules": {"usage_spike": {"days": 10**9}}},
    {"rules": {"usage_spike": {"factor": float("1e308")}}},
    {"rules": {"usage_spike": {"min_requests": True}}},
    {"rules": {"usage_spike": {"enabled": 1}}},
    {"rules": {"error_rate": {"rate": 0}}},
    {"rules": {"error_rate": {"window_minutes": 10**6}}},
    {"rules": {"failed_auth_burst": {"min_failures": 2**63}}},
    {"rules": {"after_hours": {"start": "25:00"}}},
    {"rules": {"after_hours": {"end": "8 pm"}}},
    {"rules": {"after_hours": {"weekdays": ["monday"]}}},
    {"rules": {"after_hours": {"weekdays": [7]}}},
    {"rules": {"after_hours": {"timezone": 5}}},
    {"rules": {"key_rotation_due": {"notice_days": -1}}},
    {"retention": {"request_log_days": True}},
    {"retention": {"audit_days": 10**6}},
    {"cache": {"max_entries": True}},
    {"cache": {"max_bytes": 2**64}},
]


@pytest.mark.parametrize("body", REFUSED, ids=[str(b) for b in REFUSED])
def test_out_of_range_monitoring_settings_are_refused(tenant: Tenant,
                                                      body: dict[str, Any]) -> None:
    got = tenant.client.put("/v1/monitoring/settings", headers=tenant.headers, json=body)
    assert got.status_code == 400, got.text
    section, values = next(iter(body.items()))
    named = next(iter(values)) if section == "rules" else section
    assert named in got.json()["detail"], got.text  # says which setting is wrong


def test_sound_values_are_kept_and_the_alert_period_still_runs(tenant: Tenant) -> None:
    body = {"rules": {"usage_spike": {"days": 28, "factor": 3, "min_requests": 10},
                      "after_hours": {"enabled": True, "start": "07:30", "end": "23:59",
                                      "weekdays": [0, 6], "timezone": "Europe/Paris"},
                      "error_rate": {"rate": 0.5}},
            "retention": {"request_log_days": 30}, "cache": {"max_entries": 0}}
    got = tenant.client.put("/v1/monitoring/settings", headers=tenant.headers, json=body)
    assert got.status_code == 200, got.text
    rules = got.json()["rules"]
    assert rules["usage_spike"]["days"] == 28 and rules["after_hours"]["start"] == "07:30"
    assert got.json()["retention"]["request_log_days"] == 30


@pytest.mark.parametrize("field,value", [
    ("default_ttl_seconds", 10**13), ("default_rate_limit_per_minute", 2**63),
    ("monitor_interval_seconds", 10**9), ("request_log_retention_days", 10**6),
    ("max_body_bytes", 10), ("embedding_max_batch", 0), ("console_lockout_seconds", 10**12),
])
def test_server_settings_out_of_range_are_refused_by_name(field: str, value: int) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(**{field: value})  # type: ignore[arg-type]
    assert f"VECTORCACHE_{field.upper()}" in settings_problem(raised.value)
