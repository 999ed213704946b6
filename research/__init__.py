"""Experiments on the hit decision, and their log (``research/LOG.md``).

Run from the repository root as ``python -m research.NAME``; nothing here is imported by the
server or shipped. What a script found, and what was decided, is in ``LOG.md``.
"""
