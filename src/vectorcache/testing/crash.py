"""``kill -9`` during concurrent writes, then every acknowledged write must be found.

A round starts a writer process (``python -m vectorcache.testing.crash``) on a real store
(a SQLite file or a PostgreSQL database), whose tasks insert entries concurrently and print
each entry id once ``insert_entry`` has returned (what a server acknowledges with its 201).
The round kills it with SIGKILL mid-write, reopens the store as a restarted server would
(the SQLite index reconciled from the records), and looks every acknowledged id up.
Used by ``tests/test_reliability.py`` (20 rounds per backend) and ``bench/crash.py`` (100+).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from cryptography.fernet import Fernet

from vectorcache.clock import utcnow
from vectorcache.models import NewEntry
from vectorcache.store import Store, open_store_for_url

__all__ = ["RoundResult", "crash_round", "run_rounds", "verify"]

DIMS = 384
_KEY_ENV = "VECTORCACHE_CRASH_MASTER_KEY"


@dataclass(frozen=True)
class RoundResult:
    acknowledged: int
    found: int
    missing: list[str]
    writer_seconds: float

    @property
    def lost(self) -> int:
        return len(self.missing)


def _vector(rng: np.random.Generator) -> npt.NDArray[np.float32]:
    v = rng.standard_normal(DIMS).astype(np.float32)
    return v / np.linalg.norm(v)


async def _write_forever(url: str, master_key: bytes, project_id: str, tag: str,
                         concurrency: int) -> None:
    store = open_store_for_url(url, master_key, DIMS)
    await store.open()
    rng = np.random.default_rng()

    async def writer(w: int) -> None:
        i = 0
        while True:
            entry_id = await store.insert_entry(NewEntry(
                project_id=project_id, partition=f"crash-{w % 3}", exact_key=f"{tag}-{w}-{i}",
                model="crash-model", prompt=f"crash prompt {tag} {w} {i}",
                response="acknowledged " * 20, embedding=_vector(rng)))
            sys.stdout.write(entry_id + "\n")
            sys.stdout.flush()
            i += 1

    await asyncio.gather(*(writer(w) for w in range(concurrency)))


def crash_round(url: str, master_key: bytes, project_id: str, *, tag: str,
                min_acks: int = 20, concurrency: int = 8, seed: int | None = None,
                startup_timeout: float = 60) -> list[str]:
    """Run a writer, SIGKILL it after ``min_acks`` acknowledgements and a random extra
    moment; the ids it acknowledged (including those still in the pipe when it died)."""
    rng = random.Random(seed)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vectorcache.testing.crash", url, project_id, tag,
         str(concurrency)], env={**os.environ, _KEY_ENV: master_key.decode()},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acked: list[str] = []
    deadline = time.monotonic() + startup_timeout
    try:
        while len(acked) < min_acks:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the writer stopped: {proc.communicate()[1][-2000:]}")
            acked.append(line.strip())
            if time.monotonic() > deadline:
                raise RuntimeError("the writer acknowledged too little in time")
        time.sleep(rng.uniform(0.0, 0.3))  # kill at a random point of the write stream
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    return acked + [line for line in rest.split("\n") if line.strip()]


async def verify(store: Store, acknowledged: list[str]) -> list[str]:
    """The acknowledged ids the reopened store does not have (or cannot find by search)."""
    missing = []
    for entry_id in acknowledged:
        if await store.get_entry(entry_id) is None:
            missing.append(entry_id)
    for entry_id in acknowledged[-3:]:  # and the last ones written are searchable again
        entry, vector = await store.get_entry(entry_id), await store.entry_vector(entry_id)
        if entry is not None and vector is not None:
            found = await store.search(entry.partition, vector, 1, utcnow())
            if not found or found[0][0].id != entry_id:
                missing.append(f"{entry_id} (not found by search)")
    return missing


async def run_rounds(url: str, rounds: int, *, seed: int = 22, min_acks: int = 20,
                     concurrency: int = 8) -> list[RoundResult]:
    """``rounds`` crash rounds on one database, each verified by a reopened store."""
    master_key = Fernet.generate_key()
    store = open_store_for_url(url, master_key, DIMS)
    await store.open()
    try:
        project = await store.create_project(f"crash-{uuid.uuid4().hex[:8]}")
    finally:
        await store.close()
    results = []
    for r in range(rounds):
        start = time.monotonic()
        acked = await asyncio.to_thread(crash_round, url, master_key, project.id, tag=f"r{r}",
                                        seed=seed + r, min_acks=min_acks,
                                        concurrency=concurrency)
        seconds = time.monotonic() - start
        store = open_store_for_url(url, master_key, DIMS)  # the restart
        await store.open()
        try:
            missing = await verify(store, acked)
        finally:
            await store.close()
        results.append(RoundResult(len(acked), len(acked) - len(missing), missing, seconds))
    return results


async def _main(url: str, project_id: str, tag: str, concurrency: int) -> None:
    await _write_forever(url, os.environ[_KEY_ENV].encode(), project_id, tag, concurrency)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
