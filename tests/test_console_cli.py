"""``vectorcache admin create-user`` and the first start's hint, on a fresh data dir."""

from __future__ import annotations

from typing import Any

from vectorcache.cli.common import run_with_runtime
from vectorcache.cli.serve import _bootstrap


def test_first_start_says_how_to_create_the_first_owner(cli_run: Any) -> None:
    lines = run_with_runtime(_bootstrap)
    assert any("vectorcache admin create-user NAME --role owner" in line for line in lines)
    out = cli_run("admin", "create-user", "alice", "--role", "owner",
                  input="a long enough passphrase\n").output
    assert "Created owner 'alice'" in out and "authenticator" in out
    assert not any("create-user" in line for line in run_with_runtime(_bootstrap))


def test_create_user_refuses_weak_passwords_and_bad_roles(cli_run: Any) -> None:
    short = cli_run("admin", "create-user", "bob", "--role", "viewer", input="short\n", ok=False)
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    named = cli_run("admin", "create-user", "bob", "--role", "viewer",
                    input="bob-is-my-password\n", ok=False)
    assert "must not contain the user name" in named.output
    role = cli_run("admin", "create-user", "bob", "--role", "root", input="x" * 20 + "\n",
                   ok=False)
    assert role.exit_code == 2
    cli_run("admin", "create-user", "bob", "--role", "viewer", input="x" * 20 + "\n")
    again = cli_run("admin", "create-user", "bob", "--role", "viewer", input="x" * 20 + "\n",
                    ok=False)
    assert "already exists" in again.output
