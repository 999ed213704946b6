"""``kill -9`` during concurrent writes, the long run (issue 22, item 7): ``--rounds`` rounds
(100 by default) on a SQLite file and on a PostgreSQL database; after each, the store is
reopened as a restarted server would open it and every acknowledged entry is looked up (and
the last ones searched for). The CI tier is ``tests/test_reliability.py`` (20 rounds).

    python -m bench.crash [--rounds 100] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench import _common as c
from bench import _pg
from vectorcache.testing.crash import RoundResult, run_rounds


def _row(backend: str, results: list[RoundResult], seconds: float) -> str:
    acked = sum(r.acknowledged for r in results)
    lost = sum(r.lost for r in results)
    per_round = c.summary([r.writer_seconds for r in results])
    return (f"| {backend} | {len(results)} | {acked:,} | {lost} | "
            f"{min(r.acknowledged for r in results)}–{max(r.acknowledged for r in results)} | "
            f"{per_round['p50']:.2f} | {seconds:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rows = []
    for backend in args.backends.split(","):
        start = time.monotonic()
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results = asyncio.run(run_rounds(f"sqlite:///{Path(tmp) / 'crash.db'}",
                                                 args.rounds, concurrency=args.concurrency))
        else:
            with _pg.postgres() as new_database:
                results = asyncio.run(run_rounds(new_database(), args.rounds,
                                                 concurrency=args.concurrency))
        rows.append(_row(backend, results, time.monotonic() - start))
        print(rows[-1], flush=True)
    c.write_section("bench/crash.py", "\n".join([
        c.header("crash.py", f"{args.concurrency} concurrent writer tasks per round, killed "
                             "with SIGKILL 0–300 ms after their 20th acknowledgement."),
        "",
        "| backend | rounds | acknowledged writes | lost | acknowledged per round | "
        "writer s per round (p50) | total s |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "An acknowledged write is an id ``insert_entry`` returned (what ``POST /v1/cache/store`` "
        "answers with its 201); ids still in the pipe when the writer died count too. "
        "Every one must be found after the restart: `lost` is the figure that matters.",
    ]))


if __name__ == "__main__":
    main()
