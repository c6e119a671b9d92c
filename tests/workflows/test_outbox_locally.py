"""The outbox runs one local activity at a time (release 2027-03 on).

Two running together resume the workflow in completion order live and in start order on replay
(sdk-python issue 1578): the commands that follow would differ, a nondeterminism error once the
complaint leaves the worker's cache. Plain asyncio stands in for the workflow's event loop here.
"""

from __future__ import annotations

import asyncio

import pytest

from workflows.outbox import Outbox


async def overlaps(one_at_a_time: bool) -> int:
    outbox = Outbox()
    outbox.one_local_at_a_time = one_at_a_time
    running, most = 0, 0

    async def local_activity(takes: float) -> float:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(takes)
        running -= 1
        return takes

    results = await asyncio.gather(*(outbox.locally(lambda t=t: local_activity(t)) for t in (0.03, 0.01, 0.02)))
    assert results == [0.03, 0.01, 0.02]
    return most


@pytest.mark.parametrize(("one_at_a_time", "most"), [(True, 1), (False, 3)])
async def test_local_activities_run_one_at_a_time_from_release_2027_03(one_at_a_time, most):
    assert await overlaps(one_at_a_time) == most
