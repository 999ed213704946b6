"""SingleFlight: one run for concurrent identical work; a cancelled leader hands over.
Broadcast: one stream, replayed to every listener; the last one out stops it.
MissLeases: a lease per prompt, in this process or across processes through a real Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from vectorcache.service.broadcast import Abandoned, Broadcast
from vectorcache.service.miss_lease import MissLeases
from vectorcache.service.singleflight import SingleFlight
from vectorcache.testing.loopback import free_port


def test_followers_share_the_leaders_result() -> None:
    async def main() -> None:
        flight: SingleFlight[int] = SingleFlight()
        release = asyncio.Event()
        runs = 0

        async def work() -> int:
            nonlocal runs
            runs += 1
            await release.wait()
            return 42

        tasks = [asyncio.create_task(flight.run("k", work)) for _ in range(5)]
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(*tasks)
        assert runs == 1
        assert sorted(shared for _, shared in results) == [False, True, True, True, True]
        assert {value for value, _ in results} == {42} and len(flight) == 0

    asyncio.run(main())


def test_errors_are_shared_and_a_cancelled_leader_hands_over() -> None:
    async def main() -> None:
        flight: SingleFlight[str] = SingleFlight()
        started = asyncio.Event()

        async def fail() -> str:
            started.set()
            await asyncio.sleep(0)
            raise ValueError("provider down")

        tasks = [asyncio.create_task(flight.run("e", fail)) for _ in range(3)]
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            assert isinstance(outcome, ValueError)

        hang = asyncio.Event()
        calls: list[str] = []

        async def slow() -> str:
            calls.append("run")
            if len(calls) == 1:
                await hang.wait()  # the first leader never finishes: it is cancelled
            return "done"

        leader = asyncio.create_task(flight.run("c", slow))
        await asyncio.sleep(0)
        follower = asyncio.create_task(flight.run("c", slow))
        await asyncio.sleep(0)
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        assert await follower == ("done", False)
        assert calls == ["run", "run"]

    asyncio.run(main())


# ---------------------------------------------------------------- Broadcast (streamed misses)

def test_broadcast_replays_everything_to_late_listeners_then_follows_live() -> None:
    async def main() -> None:
        more = asyncio.Event()

        async def produce(emit: Callable[[int], None]) -> str:
            emit(1)
            emit(2)
            await more.wait()
            emit(3)
            return "done"

        chunks: Broadcast[int, str] = Broadcast(produce)
        first = chunks.listen()
        await first.started()
        late = chunks.listen()  # joins after two items
        more.set()
        assert [x async for x in first] == [1, 2, 3]
        assert [x async for x in late] == [1, 2, 3]
        assert late.result == "done" and chunks.error is None

    asyncio.run(main())


def test_broadcast_error_reaches_every_listener_after_the_items() -> None:
    async def main() -> None:
        async def produce(emit: Callable[[str], None]) -> None:
            emit("a")
            raise RuntimeError("provider cut the stream")

        chunks: Broadcast[str, None] = Broadcast(produce)
        listeners = [chunks.listen(), chunks.listen()]
        for listener in listeners:
            got = []
            with pytest.raises(RuntimeError, match="cut"):
                async for x in listener:
                    got.append(x)
            assert got == ["a"]

        async def fail_at_once(emit: Callable[[str], None]) -> None:
            raise RuntimeError("401 from the provider")

        early = Broadcast(fail_at_once).listen()
        with pytest.raises(RuntimeError, match="401"):
            await early.started()

    asyncio.run(main())


def test_broadcast_runs_on_while_anyone_listens_and_stops_when_all_left() -> None:
    async def main() -> None:
        step = asyncio.Event()
        cancelled = asyncio.Event()
        finished: list[str] = []

        async def produce(emit: Callable[[int], None]) -> None:
            try:
                emit(0)
                await step.wait()
                emit(1)
                await asyncio.Event().wait()  # never ends by itself
            except asyncio.CancelledError:
                cancelled.set()
                raise

        chunks: Broadcast[int, None] = Broadcast(produce,
                                                 on_done=lambda: finished.append("done"))
        leader, follower = chunks.listen(), chunks.listen()
        await leader.started()
        leader.close()  # the first client went away: the other still gets item 1
        step.set()
        assert await anext(follower) == 0 and await anext(follower) == 1
        assert not cancelled.is_set()
        follower.close()  # the last one left: the producer is cancelled
        await cancelled.wait()  # the producer's task ends in the same step it set this
        assert isinstance(chunks.error, Abandoned) and finished == ["done"]

    asyncio.run(main())


def test_a_replica_waits_for_the_lease_holder_and_goes_on_when_it_dies(redis_url: str) -> None:
    """MissLeases on a real Redis (two instances: two replicas): one holder per key; the other
    waits until it is given back (even by a cancelled holder), or until it expires when the
    holder never gives it back."""
    async def main() -> None:
        a, b = MissLeases(redis_url, 30.0), MissLeases(redis_url, 30.0)
        holding, order = asyncio.Event(), []

        async def leader() -> None:
            async with a.lead_or_follow("k-release") as waited:
                order.append(("a", waited))
                holding.set()
                await asyncio.Event().wait()  # until cancelled: its client went away

        task = asyncio.create_task(leader())
        await holding.wait()

        async def follower() -> None:
            async with b.lead_or_follow("k-release") as waited:
                order.append(("b", waited))

        waiting = asyncio.create_task(follower())
        await asyncio.sleep(0.05)
        assert order == [("a", False)]  # b is still waiting
        task.cancel()
        await waiting
        assert order == [("a", False), ("b", True)]
        await asyncio.gather(task, return_exceptions=True)  # a's own bookkeeping done
        async with a.lead_or_follow("k-release") as waited:
            assert waited is False  # given back: the next one leads

        # a replica that died holding a lease left it in Redis, no longer renewed
        redis = Redis.from_url(redis_url)
        await redis.set("vectorcache:lease:k-expire", "dead", px=200)
        started = time.monotonic()
        async with b.lead_or_follow("k-expire") as waited:
            assert waited is True  # released by expiry
        assert 0.1 < time.monotonic() - started < 5
        await redis.aclose()
        for leases in (a, b):
            await leases.close()

    asyncio.run(main())


def test_without_redis_leases_hold_within_the_process() -> None:
    """No Redis, or one that cannot be reached: the lease still holds between requests of this
    process (a stream and a plain request for one prompt), and nothing fails."""
    async def main() -> None:
        for leases in (MissLeases(None, 30.0), MissLeases("memory://", 30.0),
                       MissLeases(f"redis://127.0.0.1:{free_port()}", 30.0)):
            entered: list[bool] = []

            async def follower(leases: MissLeases = leases,
                               entered: list[bool] = entered) -> None:
                async with leases.lead_or_follow("k") as waited:
                    entered.append(waited)

            async with leases.lead_or_follow("k") as waited:
                assert waited is False
                task = asyncio.create_task(follower())
                await asyncio.sleep(0.01)
                assert entered == []  # waiting for this holder
            await task
            assert entered == [True]
            async with leases.lead_or_follow("k") as waited:
                assert waited is False  # given back
            await leases.close()

    asyncio.run(main())


@pytest.mark.parametrize("shared", [True, False])
def test_a_call_longer_than_the_lease_keeps_it(redis_url: str, shared: bool) -> None:
    """A holder renews its lease while it holds it (a long stream): the others wait for its
    answer, not for the lease's first expiry, across replicas and within the process."""
    async def main() -> None:
        a = MissLeases(redis_url if shared else None, 0.15)
        b = MissLeases(redis_url, 0.15) if shared else a
        holding, released = asyncio.Event(), asyncio.Event()

        async def leader() -> None:
            async with a.lead_or_follow("k-long") as waited:
                assert waited is False
                holding.set()
                await asyncio.sleep(0.6)  # four leases long
                released.set()

        task = asyncio.create_task(leader())
        await holding.wait()
        async with b.lead_or_follow("k-long") as waited:
            assert waited is True
            assert released.is_set()  # it waited for the answer, not for the first expiry
        await task
        for leases in {id(a): a, id(b): b}.values():
            await leases.close()

    asyncio.run(main())
