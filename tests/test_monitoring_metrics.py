"""``/metrics``: the Prometheus text format after real queries; a token when one is set; off
by a setting; bounded labels only."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Tenant, settings_for
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from vectorcache.api.app import create_app
from vectorcache.embeddings import Encoder
from vectorcache.monitoring.metrics import LabelCap

Q = "/v1/cache/query"


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text)
            for s in f.samples]


def test_metrics_show_the_hits_and_misses_served(tenant: Tenant) -> None:
    prompt = "How many moons does Mars have?"
    assert tenant.post(Q, {"prompt": prompt, "model": "gpt-4o"}).status_code == 200
    assert tenant.post(Q, {"prompt": prompt, "model": "gpt-4o"}).status_code == 200
    assert tenant.post(Q, {"prompt": prompt, "model": "gpt-4o"},
                       headers={"Authorization": "Bearer vc_" + "1" * 32}).status_code == 401
    got = tenant.client.get("/metrics")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/plain")
    samples = _samples(got.text)
    mine = {(labels["outcome"], labels["status"]): value for name, labels, value in samples
            if name == "vectorcache_requests_total"
            and labels["project"] == tenant.project.name}
    assert mine[("miss", "200")] == 1 and mine[("hit_exact", "200")] == 1
    names = {name for name, _, _ in samples}
    for expected in ("vectorcache_request_duration_seconds_bucket",
                     "vectorcache_step_duration_seconds_bucket",
                     "vectorcache_provider_duration_seconds_bucket",
                     "vectorcache_auth_failures_total", "vectorcache_embedding_queue_depth",
                     "vectorcache_index_vectors"):
        assert expected in names, expected
    assert prompt not in got.text and tenant.key not in got.text
    assert "testclient" not in got.text  # no client addresses in labels


@pytest.fixture
def make_client(tmp_path: Path, encoder: Encoder) -> object:
    def make(**overrides: object) -> TestClient:
        app = create_app(settings_for(tmp_path / "data", **overrides), encoder=encoder)
        return TestClient(app, raise_server_exceptions=False)

    return make


def test_metrics_token_and_switch(make_client: object) -> None:
    with make_client(metrics_token="s3cret-scrape-token") as client:  # type: ignore[operator]
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}
                          ).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
        assert ok.status_code == 200 and "vectorcache_embedding_queue_depth" in ok.text
    with make_client(metrics_enabled=False) as client:  # type: ignore[operator]
        assert client.get("/metrics").status_code == 404


def test_label_values_are_capped() -> None:
    cap = LabelCap(2)
    assert [cap(v) for v in ("a", "b", "c", "a", "d")] == ["a", "b", "other", "a", "other"]


def test_multiprocess_mode_sums_every_process(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, each server process writes its own files and a scrape
    from any of them shows the sum (real processes: the mode is chosen at import)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = ("from vectorcache.monitoring.metrics import Metrics; m = Metrics(); "
             "m.requests.labels('shop', 'gpt-4o', 'hit_exact', '200').inc(); "
             "m.step_seconds.labels('search').observe(0.002)")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
    scrape = ("from vectorcache.monitoring.metrics import Metrics; "
              "import sys; sys.stdout.write(Metrics().render().decode())")
    text = subprocess.run([sys.executable, "-c", scrape], env=env, check=True, timeout=60,
                          capture_output=True, text=True).stdout
    mine = [v for n, labels, v in _samples(text)
            if n == "vectorcache_requests_total" and labels.get("project") == "shop"]
    assert mine == [2.0]
