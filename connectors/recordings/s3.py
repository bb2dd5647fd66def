"""An S3-compatible bucket (AWS S3, MinIO, moto, …): objects under a prefix are downloaded once to be hashed and
probed; the provider gets a time-limited presigned GET URL made at submission time (seed 002). Needs the ``s3`` extra
(boto3); blocking boto3 calls run in threads."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connectors.recordings.audio import AUDIO_SUFFIXES
from connectors.recordings.manifest import ManifestEntry
from connectors.recordings.source import Rejected, SourceRecording


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → (bucket, prefix)."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return parts.netloc, parts.path.lstrip("/")


def s3_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 S3 client; credentials come from boto3's usual chain (environment, profile, instance role)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:
        raise ImportError("S3 sources need the `s3` extra (boto3): pip install 'callscope[s3]'") from exc
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region or "us-east-1",
        config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}),
    )


def presign(client: Any, uri: str, expires_in: int) -> str:
    """A presigned GET URL for ``s3://bucket/key``, valid ``expires_in`` seconds."""
    bucket, key = parse_s3_uri(uri)
    url: str = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in)
    return url


def _list_and_download(client: Any, uri: str, cache_dir: Path) -> list[SourceRecording | Rejected]:
    bucket, prefix = parse_s3_uri(uri)
    out: list[SourceRecording | Rejected] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if Path(key).suffix.lower() not in AUDIO_SUFFIXES:
                continue
            # ETag changes when the object changes: a new version downloads anew.
            dest = cache_dir / bucket / obj["ETag"].strip('"') / Path(key).name
            source = f"s3://{bucket}/{key}"
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                partial = dest.with_name(dest.name + ".partial")
                try:
                    client.download_file(bucket, key, str(partial))
                except Exception as exc:  # botocore's ClientError and transfer errors
                    out.append(Rejected(source, Path(key).name, f"cannot download: {exc}"))
                    continue
                partial.replace(dest)
            out.append(SourceRecording(path=dest, source_uri=source, file_name=key, entry=ManifestEntry()))
    return out


async def scan_bucket(uri: str, cache_dir: Path, client: Any) -> list[SourceRecording | Rejected]:
    """The audio objects under ``s3://bucket/prefix``, downloaded to ``cache_dir`` once each."""
    return await asyncio.to_thread(_list_and_download, client, uri, cache_dir)
