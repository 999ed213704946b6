"""SingleFlight: one run for concurrent identical work; a cancelled leader hands over."""

from __future__ import annotations

import asyncio

import pytest

from vectorcache.service.singleflight import SingleFlight


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
