"""What the end-to-end benchmarks share: machine facts, the BENCHMARKS.md section writer,
percentiles, real prompts and their vectors, a loopback provider process, a filled data dir
and the real ``vectorcache serve`` as a subprocess.

Nothing here is imported by the package; the fill path writes rows straight into SQLite (sealed
with the store's own cipher, as ``insert_entry`` would) and builds the index snapshot with the
package's own index, because inserting 1M entries one request at a time takes hours on 2 cores.
Given a ``postgresql://`` URL it writes the same rows into PostgreSQL instead (batched INSERTs;
pgvector maintains its HNSW index as they go in).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".vectorcache" / "bench"
DATA = Path("/work/shared/data")
MODEL = "gpt-4o"
PROVIDER_KEY = "sk-bench"
FILL_VERSION = 2  # bump when the fill recipe changes (cached data dirs are rebuilt)
STORE_NOISE = 0.0247  # per-dimension noise for synthetic entries: cosine ~0.90 to the source
Vecs = npt.NDArray[np.float32]

NOISY = ("The box is shared: other engineers run tests at the same time, so figures are medians "
         "and every comparison is a ratio to a baseline measured in the same run.")


# ---------------------------------------------------------------- machine and report

def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")),
                 "unknown CPU")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    ram = next((int(x.split()[1]) / 1024 / 1024 for x in meminfo if x.startswith("MemTotal:")),
               0.0)
    return (f"nproc {os.cpu_count()}, {model}, {ram:.0f} GiB RAM, "
            f"Python {platform.python_version()}")


def header(script: str, extra: str = "") -> str:
    command = " ".join(["python", "-m", f"bench.{script.removesuffix('.py')}", *sys.argv[1:]])
    return (f"Command: `{command}` — {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, "
            f"{machine()}. {NOISY} {extra}").strip()


def write_section(name: str, body: str) -> None:
    """Replace (or append) the ``## name`` section of BENCHMARKS.md, leaving the others alone."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"## {name}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section)
    path.write_text(text.rstrip() + "\n")


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "p99": pct(values, 99)}


def fmt(s: dict[str, float]) -> str:
    return f"p50 {s['p50']:.2f} / p95 {s['p95']:.2f} / p99 {s['p99']:.2f} ms (n={int(s['n'])})"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    rss = hwm = float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return rss, hwm


# ---------------------------------------------------------------- prompts and vectors

def distinct_prompts() -> list[str]:
    """Every distinct prompt of the dev split, sorted (about 10k)."""
    texts: set[str] = set()
    for name in sorted(DATA.glob("*.jsonl")):
        for line in name.open():
            row = json.loads(line)
            texts.update(str(row[k]) for k in ("a", "b", "prompt") if row.get(k))
    return sorted(t for t in texts if t.strip())


def encoder() -> Any:
    from vectorcache.embeddings.onnx import OnnxEncoder
    from vectorcache.settings import Settings

    return OnnxEncoder(Settings().embedding_model)  # the model the server uses


def embedded(texts: list[str]) -> Vecs:
    """Vectors of ``texts`` with the server's encoder, cached by content and precision."""
    from vectorcache.settings import Settings

    model = Settings().embedding_model
    key = hashlib.sha256("\n".join([model, *texts]).encode()).hexdigest()[:12]
    path = CACHE / f"vectors-{key}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    vectors = encoder().encode(texts)
    print(f"embedded {len(texts)} prompts in {time.perf_counter() - t:.0f} s (cached in {path})",
          flush=True)
    np.save(path, vectors)
    return vectors


@dataclass
class Corpus:
    """What is stored (``stored``, in fill order) and what is asked (``paraphrases``: texts not
    stored, each at cosine >= ``margin`` to a stored one, so they are semantic hits)."""

    stored: list[str]
    vectors: Vecs
    paraphrases: list[str]
    repeats: list[str]  # stored texts asked again word for word (exact hits)


def corpus(margin: float = 0.87, limit: int = 300) -> Corpus:
    texts = distinct_prompts()
    vectors = embedded(texts)
    index = {t: i for i, t in enumerate(texts)}
    pairs = [json.loads(line) for line in (DATA / "pairs_dev.jsonl").open()]
    chosen: list[tuple[str, str]] = []
    seen: set[str] = set()
    for p in pairs:
        a, b = p["a"], p["b"]
        if not p["same"] or a == b or a in seen or b in seen or a not in index or b not in index:
            continue
        if float(vectors[index[a]] @ vectors[index[b]]) >= margin:
            chosen.append((a, b))
            seen.update((a, b))
    chosen = chosen[:limit]
    asked = {b for _, b in chosen}
    first = [a for a, _ in chosen]
    rest = [t for t in texts if t not in asked and t not in set(first)]
    stored = first + rest
    order = np.array([index[t] for t in stored])
    return Corpus(stored=stored, vectors=vectors[order], paraphrases=[b for _, b in chosen],
                  repeats=first[:100])


def unit(x: Vecs) -> Vecs:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def fill_chunks(c: Corpus, n: int, size: int = 50_000) -> Iterator[tuple[int, list[str], Vecs]]:
    """Entries 0..n-1: the real prompts and vectors first, then perturbed copies (renormalised,
    cosine ~0.9 to their source) whose text is the source prompt plus a variant number."""
    base = len(c.stored)
    for start in range(0, n, size):
        stop = min(n, start + size)
        idx = np.arange(start, stop)
        src = idx % base
        noise = np.random.default_rng(start).normal(0, STORE_NOISE, (stop - start, 384))
        noise[idx < base] = 0.0
        vectors = unit(c.vectors[src] + noise.astype(np.float32))
        texts = [c.stored[s] if i < base else f"{c.stored[s]} (variant {i // base})"
                 for i, s in zip(idx.tolist(), src.tolist(), strict=True)]
        yield start, texts, vectors


# ---------------------------------------------------------------- loopback provider

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_PROVIDER = """
import sys, threading
from vectorcache.testing import FakeProvider
p = FakeProvider(api_key=sys.argv[1])
p.port = int(sys.argv[2]); p.base_url = f"http://127.0.0.1:{p.port}/v1"
p.start(); print(p.base_url, flush=True)
sys.stdin.read()
p.stop()
"""


class Provider:
    """``FakeProvider`` in its own process, so its CPU is not the benchmark client's GIL."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc = subprocess.Popen([sys.executable, "-c", _PROVIDER, PROVIDER_KEY, str(self.port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url:
            raise RuntimeError(f"fake provider did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------- filled data dirs

@dataclass
class Filled:
    data_dir: Path
    key: str
    provider_port: int
    entries: int
    fill_s: float
    database_url: str | None = None  # None: the data dir's SQLite file

    @property
    def env(self) -> dict[str, str]:
        """What the server needs besides the data dir (which keeps its master key and secret)."""
        return {"VECTORCACHE_DATABASE_URL": self.database_url} if self.database_url else {}


def _settings(data_dir: Path, database_url: str | None = None) -> Any:
    from vectorcache.settings import Settings

    return Settings(data_dir=data_dir, database_url=database_url)


async def _bootstrap(data_dir: Path, provider_port: int,
                     database_url: str | None = None) -> tuple[str, Any]:
    from vectorcache.runtime import Runtime

    async with Runtime.open(_settings(data_dir, database_url), with_embedder=False) as rt:
        created = await rt.admin.bootstrap()
        assert created is not None, f"{data_dir} was not empty"
        project = await rt.admin.project("default")
        await rt.admin.set_provider(project, provider="openai", api_key=PROVIDER_KEY,
                                    base_url=f"http://127.0.0.1:{provider_port}/v1",
                                    actor="bench")
        principal = rt.admin.principal_for(project)

        def plan(text: str) -> Any:
            return rt.cache.plan(principal, prompt=text, messages=None, model=MODEL,
                                 context=None, params={}, threshold=None)

        return created.key, (plan, rt.store.cipher, project.id)


def index_fingerprint() -> str:
    """The index code's hash: a snapshot built by other code is rebuilt, not reused."""
    src = sorted((ROOT / "src" / "vectorcache" / "index").glob("*.py"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in src)).hexdigest()[:12]


def _rebuild_snapshot(data_dir: Path) -> None:
    """Rebuild the index snapshot of a filled data dir from its rows (as a restart would)."""
    from vectorcache.index import HybridIndex
    from vectorcache.store import codec

    index = HybridIndex(384)
    conn = sqlite3.connect(data_dir / "vectorcache.db")
    last = 0
    while True:
        rows = conn.execute("SELECT rowid, partition, embedding FROM entries WHERE rowid > ? "
                            "ORDER BY rowid LIMIT 50000", (last,)).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        index.add(rows[0][1], [r[0] for r in rows],
                  np.stack([codec.blob_to_vector(r[2]) for r in rows]))
    conn.close()
    _save(index, data_dir)


def _save(index: Any, data_dir: Path) -> None:
    wait = getattr(index, "wait_idle", None)
    if wait is not None:
        wait()  # background ANN builds finish before the snapshot is written
    index.save(data_dir / "vectorcache.db.index")


class _SqliteRows:
    """Rows into the data dir's SQLite file, vectors into the index snapshot beside it."""

    def __init__(self, data_dir: Path) -> None:
        from vectorcache.index import HybridIndex

        self.data_dir = data_dir
        self.index = HybridIndex(384)
        self.conn = sqlite3.connect(data_dir / "vectorcache.db", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.rowid = 0

    def write(self, rows: list[dict[str, Any]], partition: str, vectors: Vecs) -> None:
        labels = list(range(self.rowid + 1, self.rowid + len(rows) + 1))
        self.rowid += len(rows)
        rows = [{**r, "rowid": label} for r, label in zip(rows, labels, strict=True)]
        cols = list(rows[0])
        self.conn.execute("BEGIN")
        self.conn.executemany(f"INSERT INTO entries ({', '.join(cols)}) VALUES "  # noqa: S608 - column names from our own rows
                              f"({', '.join('?' * len(cols))})", [tuple(r.values()) for r in rows])
        self.conn.execute("COMMIT")
        self.index.add(partition, labels, vectors)

    def close(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()
        _save(self.index, self.data_dir)


def fill(n: int, c: Corpus, *, reuse: bool = True, database_url: str | None = None,
         data_dir: Path | None = None) -> Filled:
    """A data dir whose ``default`` project holds ``n`` entries (cached under .vectorcache).

    ``database_url`` (an empty PostgreSQL database) takes the rows instead of the data dir's
    SQLite file; ``data_dir`` fills a fresh one there. Neither is cached."""
    fresh = database_url is not None or data_dir is not None
    data_dir = data_dir or (CACHE / "scratch" / f"pg-{n}" if database_url
                            else CACHE / f"filled-{n}-v{FILL_VERSION}")
    marker = data_dir / "bench.json"
    if reuse and not fresh and marker.exists():
        m = json.loads(marker.read_text())
        if m.get("index") != index_fingerprint():
            t = time.perf_counter()
            _rebuild_snapshot(data_dir)
            print(f"  index code changed: snapshot of {human(n)} rebuilt in "
                  f"{time.perf_counter() - t:.0f} s", flush=True)
            m["index"] = index_fingerprint()
            marker.write_text(json.dumps(m))
        return Filled(data_dir, m["key"], m["provider_port"], n, m["fill_s"])
    shutil.rmtree(data_dir, ignore_errors=True)
    t0 = time.perf_counter()
    port = free_port()
    from bench._pg import PostgresRows
    from vectorcache.models import NewEntry, Usage
    from vectorcache.store import codec

    # the runtime closes before rows are written; its cipher and hasher stay usable
    key, (plan, cipher, project_id) = asyncio.run(_bootstrap(data_dir, port, database_url))
    out: _SqliteRows | PostgresRows = (PostgresRows(database_url) if database_url
                                        else _SqliteRows(data_dir))
    for start, texts, vectors in fill_chunks(c, n):
        rows, partition = [], ""
        now = time.time()
        for text, vector in zip(texts, vectors, strict=True):
            p = plan(text)
            partition = p.partition
            values = codec.seal_entry(cipher, NewEntry(
                project_id=project_id, partition=p.partition, exact_key=p.exact_key,
                model=MODEL, prompt=text, response=f"Answer to: {text}", embedding=vector,
                usage=Usage(12, 30), provider="openai"))
            rows.append({**values, "id": str(uuid.uuid4()), "created_at": now})
        out.write(rows, partition, vectors)
        print(f"  filled {start + len(texts):,}/{n:,} entries "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    out.close()
    fill_s = time.perf_counter() - t0
    marker.write_text(json.dumps({"key": key, "provider_port": port, "fill_s": fill_s,
                                  "index": index_fingerprint()}))
    return Filled(data_dir, key, port, n, fill_s, database_url)


# ---------------------------------------------------------------- the real server

class Server:
    """``python -m vectorcache serve`` on a data dir, as an operator runs it."""

    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None,
                 timeout: float = 600) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        log = open(data_dir / "server.log", "w")  # noqa: SIM115 - the server writes to it until stop()
        full_env = {**os.environ, "VECTORCACHE_DATA_DIR": str(data_dir),
                    "VECTORCACHE_LOG_LEVEL": "WARNING", **(env or {})}
        t = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vectorcache", "serve", "--port", str(self.port)],
            env=full_env, stdout=subprocess.DEVNULL, stderr=log)
        self.pid = self.proc.pid
        import httpx

        deadline = time.monotonic() + timeout
        while True:  # ready, and no index (re)build running: measure the steady state
            try:
                ready = httpx.get(f"{self.base}/health/ready", timeout=5)
                index = ready.json().get("checks", {}).get("index", {}) \
                    if ready.status_code == 200 else {"building": 1}
                if ready.status_code == 200 and not index.get("building"):
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server died: {(data_dir / 'server.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.2)
        self.start_s = time.perf_counter() - t

    def rss_mb(self) -> tuple[float, float]:
        return rss_mb(self.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def query_body(prompt: str, *, debug: bool = False, **extra: Any) -> dict[str, Any]:
    return {"prompt": prompt, "model": MODEL, **({"include_debug": True} if debug else {}),
            **extra}


def sizes_arg(text: str) -> list[int]:
    """``1k,100k,1M`` -> [1000, 100000, 1000000]."""
    mult = {"k": 1_000, "m": 1_000_000}
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        out.append(int(float(part[:-1]) * mult[part[-1]]) if part[-1] in mult else int(part))
    return out


def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n % 1000 == 0 else str(n))


# ---------------------------------------------------------------- wrk load generator

WRK_LUA = r"""
-- args: bodies file (one JSON body per line; __N__ becomes a unique counter), prefix
local bodies, i, prefix = {}, 0, ""
hits, errors = 0, 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  prefix = args[2] or ""
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  i = i + 1
  local body = bodies[(i - 1) % #bodies + 1]:gsub("__N__", prefix .. i)
  return wrk.format("POST", wrk.path, nil, body)
end
function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
  if body:find('"cache_hit":true', 1, true) then hits = hits + 1 end
end
function done(summary, latency, requests)
  local h, e = 0, 0
  for _, t in ipairs(threads) do h = h + t:get("hits"); e = e + t:get("errors") end
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "hits": %d, "non200": %d, "socket_errors": %d,'
    .. ' "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, h, e,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk(url: str, key: str, bodies: list[dict[str, Any]], *, connections: int,
        seconds: float, prefix: str = "") -> dict[str, Any]:
    """POST ``bodies`` in turn with ``connections`` open connections (1 wrk thread)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    CACHE.mkdir(parents=True, exist_ok=True)
    script, data = CACHE / "post.lua", CACHE / f"bodies-{os.getpid()}.txt"
    script.write_text(WRK_LUA)
    data.write_text("\n".join(json.dumps(b) for b in bodies) + "\n")
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "30s",
         "-H", f"Authorization: Bearer {key}", "-s", str(script), url, "--", str(data), prefix],
        capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    r: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    r["per_s"] = r["requests"] / (r["duration_us"] / 1e6)
    r["hits_per_s"] = r["hits"] / (r["duration_us"] / 1e6)
    return r


def ceiling(texts: list[str], batches: int = 12, batch: int = 32) -> float:
    """The encoder's own batched rate (prompts/s) on ``texts``, on every core it uses: as many
    threads as it runs calls side by side (``parallel_calls``: 2 for int8 on 2 cores, one
    single-threaded call each; 1 for fp32, whose call uses both cores), each encoding batches of
    32. The median of three timed rounds."""
    from concurrent.futures import ThreadPoolExecutor

    enc = encoder()
    lanes = getattr(enc, "parallel_calls", 1)
    enc.encode(texts[:batch])
    chunks = [[texts[(i * batch + j) % len(texts)] for j in range(batch)]
              for i in range(batches)]
    rates = []
    with ThreadPoolExecutor(lanes) as pool:
        for _ in range(3):
            t = time.perf_counter()
            list(pool.map(enc.encode, chunks))
            rates.append(batches * batch / (time.perf_counter() - t))
    enc.close()
    return float(np.median(rates))


def scratch_copy(filled: Filled, name: str) -> Path:
    """A throw-away copy of a filled data dir (runs that store misses must not change it)."""
    dest = CACHE / "scratch" / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(filled.data_dir, dest)
    return dest


def semantic_hits(base: str, key: str, texts: list[str]) -> list[str]:
    """The texts this server answers as semantic hits (``/v1/cache/lookup``: never stores), so
    measured queries are hits under whatever decision rule the server runs."""
    import httpx

    out = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                      timeout=60) as http:
        for text in texts:
            body = http.post("/v1/cache/lookup", json=query_body(text, debug=True)).json()
            if body.get("cache_hit") and not body["debug"].get("exact_match"):
                out.append(text)
    return out
