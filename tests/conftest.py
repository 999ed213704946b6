"""Session-wide real parts: the embedding model (loaded once), a loopback OpenAI-compatible
provider, and one in-process app whose tests each get their own project and key."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from backends import REDIS, fresh_database, postgres_server, redis_server

from vectorcache.api.app import create_app
from vectorcache.embeddings import Encoder, build_encoder
from vectorcache.models import Project
from vectorcache.settings import Settings
from vectorcache.testing import FakeProvider


def dev_data(name: str) -> Path:
    """A file of the labelled dev data: ``shared/data`` beside the checkout (as CI has it), or
    ``$VECTORCACHE_EVAL_DATA``. Tests that need real prompts fail loudly when it is missing."""
    root = Path(__file__).resolve().parents[1]
    candidates = [Path(os.environ["VECTORCACHE_EVAL_DATA"])] if "VECTORCACHE_EVAL_DATA" in \
        os.environ else []
    candidates += [root.parent / "shared" / "data", root / "shared" / "data"]
    for base in candidates:
        if (base / name).exists():
            return base / name
    raise FileNotFoundError(f"{name} not found in {[str(c) for c in candidates]}")


@pytest.fixture(scope="session")
def encoder() -> Iterator[Encoder]:
    """The real all-MiniLM-L6-v2 through the default (ONNX) path, loaded once per session."""
    enc = build_encoder(Settings(embedding_backend="onnx"))
    yield enc
    enc.close()


@pytest.fixture(scope="session")
def provider() -> Iterator[FakeProvider]:
    with FakeProvider(api_key="sk-test-provider") as fake:
        yield fake


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, embedding_backend="onnx", **overrides)


@pytest.fixture(scope="session")
def app_client(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("app")
    app = create_app(settings_for(data_dir, max_body_bytes=200_000), encoder=encoder)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@dataclass
class Tenant:
    """A project of its own on the shared app, with a full-scope key and the fake provider."""

    client: TestClient
    project: Project
    key: str
    provider: FakeProvider
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> Any:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run an async runtime call on the app's event loop."""
        return self.client.portal.call(lambda: fn(*args, **kwargs))  # type: ignore[union-attr]

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.post(path, json=body, headers={**self.headers,
                                                          **kwargs.pop("headers", {})}, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers={**self.headers, **kwargs.pop("headers", {})},
                               **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, headers={**self.headers, **kwargs.pop("headers", {})},
                                  **kwargs)

    def new_key(self, **options: Any) -> str:
        created = self.call(self.runtime.admin.create_key, self.project, **options)
        return str(created.key)

    def flush(self) -> None:
        self.call(self.runtime.events.flush)


def make_tenant(client: TestClient, provider: FakeProvider, **project_settings: Any) -> Tenant:
    rt = client.app.state.runtime  # type: ignore[attr-defined]

    async def setup() -> tuple[Project, str]:
        project = await rt.admin.create_project(f"t-{uuid.uuid4().hex[:10]}", **project_settings)
        created = await rt.admin.create_key(project, name="test")
        await rt.admin.set_provider(project, provider="openai", api_key=provider.api_key,
                                    base_url=provider.base_url)
        return project, created.key

    project, key = client.portal.call(setup)  # type: ignore[union-attr]
    return Tenant(client=client, project=project, key=key, provider=provider,
                  headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def tenant(app_client: TestClient, provider: FakeProvider) -> Tenant:
    return make_tenant(app_client, provider)


@pytest.fixture
def cli_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``vectorcache ...`` in-process on a fresh data dir; asserts success unless ok=False."""
    from click.testing import CliRunner

    from vectorcache.cli.main import cli

    monkeypatch.setenv("VECTORCACHE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VECTORCACHE_PROVIDER_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, ok: bool = True) -> Any:
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One real PostgreSQL (16, with pgvector: the ``pgserver`` wheel) for the whole session."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def postgres_url(pg_server: Any) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's server (dropped afterwards)."""
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Redis for the session (``scripts/test.sh`` installs ``redis-server``)."""
    if REDIS is None:
        pytest.skip("redis-server is not installed (scripts/test.sh installs it with apt-get)")
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
