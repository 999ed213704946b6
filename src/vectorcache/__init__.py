"""Vectorcache: a self-hosted semantic cache and secure gateway for LLM APIs."""

__version__ = "0.1.0"

__all__ = ["__version__"]
