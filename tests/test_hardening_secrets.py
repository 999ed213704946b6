"""Issue 22, item 10: no setting error prints a secret's value.

The real command (``python -m vectorcache``, as an operator runs it) with a bad secret setting
or a database URL with a password: the error names the setting, never the value.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from vectorcache.cli.main import settings_problem
from vectorcache.redaction import mask_url_credentials
from vectorcache.settings import Settings

PASSWORD = "hunter2-Pa55word"


def _vectorcache(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VECTORCACHE_")}
    return subprocess.run([sys.executable, "-m", "vectorcache", *args],
                          env={**clean, "VECTORCACHE_DATA_DIR": str(tmp_path / "data"), **env},
                          capture_output=True, text=True, timeout=180)


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def test_a_rejected_server_secret_is_not_printed(tmp_path: Path) -> None:
    secret = "S3cr3t-" + "x" * 24  # 31 characters: one short
    done = _vectorcache(tmp_path, "serve", VECTORCACHE_SERVER_SECRET=secret)
    assert done.returncode == 2
    assert "VECTORCACHE_SERVER_SECRET" in done.stderr and "31 characters" in done.stderr
    assert secret not in _output(done) and "S3cr3t" not in _output(done)


def test_a_rejected_master_key_is_not_printed(tmp_path: Path) -> None:
    key = "not-a-fernet-key-but-still-secret-AAAAAAAAAA"
    done = _vectorcache(tmp_path, "projects", "list", VECTORCACHE_MASTER_KEY=key)
    assert done.returncode != 0 and "VECTORCACHE_MASTER_KEY" in _output(done)
    assert key not in _output(done)


def test_a_wrong_passphrase_is_not_printed(tmp_path: Path) -> None:
    assert _vectorcache(tmp_path, "projects", "list",
                        VECTORCACHE_PASSPHRASE="the right passphrase").returncode == 0
    wrong = "the-wrong-passphrase-42"
    done = _vectorcache(tmp_path, "projects", "list", VECTORCACHE_PASSPHRASE=wrong)
    assert done.returncode != 0 and "PASSPHRASE" in _output(done)
    assert wrong not in _output(done) and "Traceback" not in _output(done)


@pytest.mark.parametrize("url", [
    f"postgresql://alice:{PASSWORD}@127.0.0.1:1/vectorcache",  # nothing listens
    f"postgresql://alice:{PASSWORD}@127.0.0.1:notaport/vectorcache",  # libpq rejects it
    f"postgres://alice:{PASSWORD}@[::1/vectorcache",  # no closing bracket: unparseable
    f"mysql://alice:{PASSWORD}@db/vectorcache",  # unsupported scheme
])
def test_a_database_url_password_is_not_printed(tmp_path: Path, url: str) -> None:
    done = _vectorcache(tmp_path, "projects", "list", VECTORCACHE_DATABASE_URL=url)
    assert done.returncode != 0
    assert PASSWORD not in _output(done) and "Traceback" not in _output(done)


def test_a_database_url_that_is_no_url_is_not_printed(tmp_path: Path) -> None:
    done = _vectorcache(tmp_path, "projects", "list", VECTORCACHE_DATABASE_URL=PASSWORD)
    assert done.returncode != 0 and PASSWORD not in _output(done)


@pytest.mark.parametrize("field", ["server_secret", "master_key", "passphrase"])
def test_no_setting_error_prints_a_secret_value(field: str) -> None:
    """Whatever a secret setting is rejected for, the message hides its value."""
    with pytest.raises(ValidationError) as raised:
        Settings(**{field: [PASSWORD]})  # type: ignore[arg-type]
    message = settings_problem(raised.value)
    assert f"VECTORCACHE_{field.upper()}" in message and PASSWORD not in message


def test_urls_keep_user_and_host_but_not_the_password() -> None:
    assert mask_url_credentials(f"redis://:{PASSWORD}@cache:6379/0 and "
                                f"postgresql://bob:{PASSWORD}@db/x?password={PASSWORD}") == \
        "redis://:***@cache:6379/0 and postgresql://bob:***@db/x?password=***"
