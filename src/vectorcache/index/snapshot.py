"""The index snapshot file: a JSON header and raw, checksummed blobs. No pickle.

Layout: ``MAGIC``, a little-endian u64 header length, the UTF-8 JSON header, then the blobs
back to back. The header names each blob with its dtype, shape, offset, size and CRC-32, so a
truncated, corrupt or foreign file is refused (``SnapshotError``) before anything is used. A blob
may also be a file (a faiss index), copied in and out by streaming.
Files are written to a temporary name in the same directory, fsynced, then renamed over.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

__all__ = ["FORMAT_VERSION", "SnapshotError", "SnapshotReader", "write_snapshot"]

MAGIC = b"VCINDEX\x00"
FORMAT_VERSION = 3  # 1 was the pickle format, 2 held hnswlib (PCA-64) graphs
_DTYPES = {"float32", "int8", "int64", "uint8"}
_CHUNK = 1 << 22


class SnapshotError(Exception):
    """The snapshot is missing, truncated, corrupt or of another version."""


Blob = npt.NDArray[Any] | Path


def write_snapshot(path: Path, header: Mapping[str, Any], blobs: Mapping[str, Blob]) -> None:
    """Write ``header`` (JSON-able) and ``blobs`` (arrays or files) atomically to ``path``."""
    table: dict[str, dict[str, Any]] = {}
    offset = 0
    for name, blob in blobs.items():
        if isinstance(blob, Path):
            entry: dict[str, Any] = {"dtype": "uint8", "shape": [blob.stat().st_size]}
        else:
            if blob.dtype.name not in _DTYPES:
                raise ValueError(f"unsupported dtype {blob.dtype} for blob {name!r}")
            entry = {"dtype": blob.dtype.name, "shape": list(blob.shape)}
        entry["offset"] = offset
        entry["nbytes"] = int(np.prod(entry["shape"], dtype=np.int64)) * np.dtype(
            entry["dtype"]).itemsize
        offset += entry["nbytes"]
        table[name] = entry
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + struct.pack("<Q", 0))  # header length patched in below
            for name, blob in blobs.items():
                table[name]["crc32"] = _write_blob(fh, blob)
            raw = json.dumps({"version": FORMAT_VERSION, **header, "blobs": table}).encode()
            fh.write(raw)  # the header goes last, so blob offsets need not know its size
            fh.seek(len(MAGIC))
            fh.write(struct.pack("<Q", len(raw)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_blob(fh: BinaryIO, blob: Blob) -> int:
    crc = 0
    if isinstance(blob, Path):
        with open(blob, "rb") as src:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                crc = zlib.crc32(chunk, crc)
                fh.write(chunk)
        return crc
    view = np.ascontiguousarray(blob).data.cast("B")
    for start in range(0, len(view), _CHUNK):
        part = view[start:start + _CHUNK]
        crc = zlib.crc32(part, crc)
        fh.write(part)
    return crc


@dataclass
class SnapshotReader:
    """Reads a snapshot written by ``write_snapshot``; every read checks sizes and CRCs."""

    path: Path
    header: dict[str, Any]
    _base: int

    @classmethod
    def open(cls, path: Path, *, dims: int) -> SnapshotReader:
        try:
            with open(path, "rb") as fh:
                if fh.read(len(MAGIC)) != MAGIC:
                    raise SnapshotError("not an index snapshot")
                (length,) = struct.unpack("<Q", fh.read(8))
                size = os.fstat(fh.fileno()).st_size
                if length <= 0 or len(MAGIC) + 8 + length > size:
                    raise SnapshotError("truncated header")
                fh.seek(size - length)
                header = json.loads(fh.read(length))
        except (OSError, ValueError, struct.error) as exc:
            raise SnapshotError(str(exc)) from exc
        if not isinstance(header, dict) or header.get("version") != FORMAT_VERSION:
            raise SnapshotError("snapshot version mismatch")
        if header.get("dims") != dims:
            raise SnapshotError("snapshot dims mismatch")
        blobs = header.get("blobs")
        base = len(MAGIC) + 8
        if not isinstance(blobs, dict) or any(
            not isinstance(b, dict) or b.get("dtype") not in _DTYPES
            or b.get("offset", -1) < 0 or base + b["offset"] + b.get("nbytes", -1) > size - length
            or int(np.prod(b.get("shape", [-1]), dtype=np.int64)) * np.dtype(b["dtype"]).itemsize
            != b["nbytes"]
            for b in blobs.values()
        ):
            raise SnapshotError("bad blob table")
        return cls(path, header, base)

    def array(self, name: str) -> npt.NDArray[Any]:
        entry = self._entry(name)
        out = np.empty(entry["shape"], dtype=entry["dtype"])
        view = out.data.cast("B")
        with open(self.path, "rb") as fh:
            fh.seek(self._base + entry["offset"])
            if fh.readinto(view) != entry["nbytes"]:
                raise SnapshotError(f"blob {name!r} is truncated")
        if zlib.crc32(view) != entry["crc32"]:
            raise SnapshotError(f"blob {name!r} fails its checksum")
        return out

    def copy_to_file(self, name: str, target: Path) -> None:
        entry = self._entry(name)
        crc, left = 0, entry["nbytes"]
        with open(self.path, "rb") as fh, open(target, "wb") as out:
            fh.seek(self._base + entry["offset"])
            while left:
                chunk = fh.read(min(_CHUNK, left))
                if not chunk:
                    raise SnapshotError(f"blob {name!r} is truncated")
                crc = zlib.crc32(chunk, crc)
                out.write(chunk)
                left -= len(chunk)
        if crc != entry["crc32"]:
            raise SnapshotError(f"blob {name!r} fails its checksum")

    def _entry(self, name: str) -> dict[str, Any]:
        entry = self.header["blobs"].get(name)
        if entry is None:
            raise SnapshotError(f"blob {name!r} is missing")
        return dict(entry)
