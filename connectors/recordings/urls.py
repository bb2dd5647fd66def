"""A list of recording URLs: each is downloaded once (streamed, to a cache named by the URL) so that it can be hashed
and probed; the provider is then given the URL itself."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from connectors.recordings.manifest import ManifestEntry
from connectors.recordings.source import Rejected, SourceRecording


def cache_path(cache_dir: Path, url: str) -> Path:
    name = Path(urlsplit(url).path).name or "recording"
    return cache_dir / hashlib.sha256(url.encode()).hexdigest()[:16] / name


async def download(client: httpx.AsyncClient, url: str, dest: Path, *, max_bytes: int) -> None:
    """Stream ``url`` to ``dest`` (written whole or not at all)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    size = 0
    async with client.stream("GET", url) as resp:
        resp.raise_for_status()
        with partial.open("wb") as fh:
            async for block in resp.aiter_bytes(1 << 20):
                size += len(block)
                if size > max_bytes:
                    raise ValueError(f"larger than {max_bytes} bytes")
                fh.write(block)
    partial.replace(dest)


async def fetch_urls(
    entries: Iterable[ManifestEntry | str],
    cache_dir: Path,
    *,
    max_bytes: int = 4 << 30,
    read_timeout: float = 300.0,
) -> list[SourceRecording | Rejected]:
    """Download each URL (once; the cache is reused) and describe it; a URL that cannot be fetched is Rejected."""
    out: list[SourceRecording | Rejected] = []
    async with httpx.AsyncClient(timeout=read_timeout, follow_redirects=True) as client:
        for item in entries:
            entry = ManifestEntry(url=item) if isinstance(item, str) else item
            url = entry.url or ""
            name = Path(urlsplit(url).path).name or url
            dest = cache_path(cache_dir, url)
            if not dest.exists():
                try:
                    await download(client, url, dest, max_bytes=max_bytes)
                except (httpx.HTTPError, ValueError, OSError) as exc:
                    out.append(Rejected(url, name, f"cannot download: {exc}"))
                    continue
            out.append(SourceRecording(path=dest, source_uri=url, file_name=name, entry=entry, recording_url=url))
    return out
