"""How long the dashboard's pages and the admin API take on a large project, against a real
``vectorcache serve``: a filled project (bench/_common.py ``fill``: 100k entries, or 1M with
``--million``) plus 100k usage events, 100k audit rows and 10k API keys written straight into
its SQLite file. Each page is fetched ``--rounds`` times by a signed-in owner; median and max.

    python -m bench.console_pages              # 100k entries
    python -m bench.console_pages --million    # 1M entries (first fill ~5 min, ~2 GB)
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from bench import _common as c

PASSWORD = "a throw-away console passphrase"  # noqa: S105 (a throw-away bench account)


def add_rows(data_dir: Path, events: int, audit: int, keys: int) -> str:
    """Events, audit rows and keys for the ``default`` project; its id."""
    db = sqlite3.connect(data_dir / "vectorcache.db")
    project_id = db.execute("SELECT id FROM projects WHERE name = 'default'").fetchone()[0]
    now = time.time()
    with db:
        db.executemany(
            "INSERT INTO events (at, project_id, kind, tokens, cost_saved_usd, similarity) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(now - i, project_id, "hit" if i % 3 else "miss", 40, 0.0004, 0.93)
             for i in range(events)])
        db.executemany(
            "INSERT INTO audit (at, action, project_id, actor, target, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(now - audit + i, "key.update", project_id, "cli", str(uuid.uuid4()), "{}")
             for i in range(audit)])
        db.executemany(
            "INSERT INTO api_keys (id, project_id, name, prefix, key_hash, created_at, scopes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(str(uuid.uuid4()), project_id, f"bench-{i}", f"vc_{i:08x}…", uuid.uuid4().hex,
              now - i, '["cache:read"]') for i in range(keys)])
    db.close()
    return str(project_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = 1_000_000 if args.million else 100_000
    sys.path.insert(0, str(Path(__file__).parent))  # _common.fill imports its sibling _pg
    filled = c.fill(n, c.corpus())
    data_dir = c.scratch_copy(filled, "console-pages")
    project_id = add_rows(data_dir, 100_000, 100_000, 10_000)
    env = {"VECTORCACHE_DATA_DIR": str(data_dir), "VECTORCACHE_CONSOLE_2FA_ROLES": "[]"}
    subprocess.run([sys.executable, "-m", "vectorcache", "admin", "create-user", "operator",
                    "--role", "owner"], input=PASSWORD + "\n", text=True, check=True,
                   env={**__import__("os").environ, **env})
    pages = ["/dashboard/", f"/dashboard/projects/{project_id}/keys",
             f"/dashboard/projects/{project_id}/keys?page=100",
             f"/dashboard/projects/{project_id}/llm-keys",
             f"/dashboard/projects/{project_id}/analytics",
             f"/dashboard/projects/{project_id}/analytics?range=30d",
             f"/dashboard/projects/{project_id}/audit",
             f"/dashboard/projects/{project_id}/settings", "/dashboard/account",
             f"/admin/api/projects/{project_id}/keys",
             f"/admin/api/audit?project_id={project_id}"]
    with c.Server(data_dir, env=env) as server, httpx.Client(base_url=server.base,
                                                             timeout=120) as client:
        signed = client.post("/admin/api/session", json={"name": "operator",
                                                         "password": PASSWORD})
        signed.raise_for_status()
        print(f"{c.human(n)} entries, 100k events, 100k audit rows, 10k keys "
              f"({args.rounds} rounds; ms)")
        for page in pages:
            times = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                r = client.get(page)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (page, r.status_code, r.text[:300])
            print(f"  {page.replace(project_id, '{id}'):48s} median {statistics.median(times):7.1f}"
                  f"  max {max(times):7.1f}")


if __name__ == "__main__":
    main()
