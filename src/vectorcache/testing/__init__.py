"""Honest test helpers shipped with the library (like httpx's MockTransport)."""

from vectorcache.testing.fake_anthropic import FakeAnthropic
from vectorcache.testing.fake_provider import FakeProvider

__all__ = ["FakeAnthropic", "FakeProvider"]
