"""Benchmarks: each script measures one thing and can write its section of BENCHMARKS.md.

Run from the repository root as ``python -m bench.NAME [--write]``. Shared harness (a filled
store, the server as a subprocess, a loopback provider): ``bench/_common.py``.
"""
