"""Query ids: UUID4s from a generator the cache service owns; a seeded one repeats."""

from __future__ import annotations

import random
import uuid

from vectorcache.service.query_ids import QueryIds


def test_a_seeded_generator_gives_the_same_ids() -> None:
    first, again = QueryIds(random.Random(7)), QueryIds(random.Random(7))
    ids = [first.new() for _ in range(3)]
    assert ids == [again.new() for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_unseeded_generators_differ() -> None:
    assert QueryIds().new() != QueryIds().new()
