from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from connectors.symbl import SymblClient, SymblSettings
from tests.connectors.symbl_stand_in import APP_ID, APP_SECRET, StandInServer


@pytest.fixture
def stand_in() -> Iterator[StandInServer]:
    with StandInServer() as server:
        yield server


class SleepRecorder:
    """Records retry delays instead of sleeping (the waits are asserted, not endured)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def settings_for(server: StandInServer, **over: Any) -> SymblSettings:
    values: dict[str, Any] = {
        "base_url": server.url,
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
    }
    values.update(over)
    return SymblSettings(**values)


@pytest.fixture
async def client(stand_in: StandInServer, sleeps: SleepRecorder) -> AsyncIterator[SymblClient]:
    async with SymblClient(settings_for(stand_in), sleep=sleeps) as c:
        yield c
