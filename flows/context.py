"""What every stage works with: settings, the repository, the provider client, the trackers and the webhook base."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.symbl import SymblClient, SymblSettings
from connectors.symbl.models import TrackerSpec
from flows.settings import PipelineSettings
from storage import Repository, open_repository


@dataclass
class Pipeline:
    settings: PipelineSettings
    repo: Repository
    client: SymblClient
    trackers: list[TrackerSpec] = field(default_factory=list)
    webhook_base: str | None = None
    """Base URL of a receiver for the provider's callbacks; each request's URL is <base>/webhooks/symbl/<id>.<token>."""
    in_flight: set[str] = field(default_factory=set)
    """Requests this process is submitting right now (not stale, whatever their age)."""
    _s3: Any = None

    def webhook_url(self, token: str) -> str | None:
        """The callback URL for one request's token (see ``flows.status.callback_token``)."""
        return f"{self.webhook_base.rstrip('/')}/webhooks/symbl/{token}" if self.webhook_base else None

    def s3(self) -> Any:
        """The boto3 client for S3 sources (created on first use; needs the `s3` extra)."""
        if self._s3 is None:
            from connectors.recordings.s3 import s3_client

            self._s3 = s3_client(self.settings.s3_endpoint_url)
        return self._s3

    def part_dir(self) -> Path:
        return self.settings.work_dir / "parts"


def load_trackers(path: Path) -> list[TrackerSpec]:
    """A JSON list of trackers ``[{"name": …, "vocabulary": [...]}]``, validated."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read trackers: {exc}") from exc
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON list of trackers")
    return [TrackerSpec.model_validate(t) for t in raw]


@asynccontextmanager
async def pipeline(
    settings: PipelineSettings | None = None,
    symbl: SymblSettings | None = None,
    *,
    webhook_base: str | None = None,
    trackers: list[TrackerSpec] | None = None,
) -> AsyncIterator[Pipeline]:
    """Open the repository (schema created or migrated) and the provider client for one flow run."""
    settings = settings or PipelineSettings()
    if trackers is None:
        trackers = load_trackers(settings.trackers_file) if settings.trackers_file else []
    repo = open_repository(settings.storage_url, cap=settings.cap)
    await repo.setup()
    try:
        async with SymblClient(symbl or SymblSettings()) as client:
            yield Pipeline(
                settings=settings,
                repo=repo,
                client=client,
                trackers=trackers,
                webhook_base=webhook_base or settings.webhook_public_url,
            )
    finally:
        await asyncio.shield(repo.close())
