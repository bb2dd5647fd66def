"""Recording sources: manifests (CSV and JSON), folders, URL lists, an S3-compatible bucket (moto's real server),
duration probing and splitting; and the provider request built from the metadata."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from connectors.recordings import (
    AudioProbeError,
    ManifestError,
    Rejected,
    fetch_urls,
    probe_duration,
    read_manifest,
    scan_folder,
    split_into_parts,
)
from connectors.recordings.s3 import presign, s3_client, scan_bucket
from connectors.symbl.models import TrackerSpec
from flows.options import PHONE_RATE_KEY, TRACKERS_KEY, process_options, tracker_metadata
from storage import Recording
from storage.models import utcnow


def test_csv_manifest_carries_seed_002_metadata(tmp_path: Path) -> None:
    path = tmp_path / "manifest.csv"
    path.write_text(
        "file,language_code,timezone_offset,custom_vocabulary,business_name,speaker_count,separate_channels,"
        "speakers,customer_name\n"
        "a.wav,en-GB,60,Acme|onboarding,Acme,2,true,Ana <ana@example.com>|Ben,Ben\n"
        "b.mp3,,,,,,,,\n"
    )
    a, b = read_manifest(path)
    assert (a.file, a.language_code, a.timezone_offset, a.business_name) == ("a.wav", "en-GB", 60, "Acme")
    assert a.custom_vocabulary == ["Acme", "onboarding"] and a.separate_channels
    assert [(s.name, s.email, s.channel) for s in a.speakers] == [("Ana", "ana@example.com", 1), ("Ben", None, 2)]
    assert a.metadata == {"customer_name": "Ben"}
    assert (b.file, b.language_code, b.separate_channels, b.speakers) == ("b.mp3", "en-US", False, [])


def test_json_manifest_and_every_bad_row_reported(tmp_path: Path) -> None:
    good = tmp_path / "manifest.json"
    good.write_text(json.dumps({"recordings": [{"file": "a.wav", "speakers": [{"name": "Ana", "channel": 2}]}]}))
    (entry,) = read_manifest(good)
    assert entry.speakers[0].channel == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("file,timezone_offset,separate_channels\na.wav,9999,false\n,0,false\nc.wav,0,true\n")
    with pytest.raises(ManifestError) as err:
        read_manifest(bad)
    message = str(err.value)
    assert "line 2: timezone_offset" in message and "line 3: needs file or url" in message
    assert "line 4" in message and "separate_channels needs speakers" in message
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        read_manifest(tmp_path / "junk.json")


def test_folder_scan_finds_audio_and_refuses_a_manifest_naming_a_missing_file(
    corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    folder, kinds = corpus
    found = scan_folder(folder)
    assert {f.file_name for f in found} == set(kinds)
    stereo = next(f for f in found if f.file_name == "call-0-stereo.mp3")
    assert stereo.entry.separate_channels and stereo.source_uri.startswith("file://")
    own = tmp_path / "calls"
    own.mkdir()
    (own / "manifest.csv").write_text("file\nmissing.wav\n")
    with pytest.raises(ManifestError, match=r"no such file\(s\).*missing.wav"):
        scan_folder(own)


def test_probe_and_split(corpus: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    folder, _ = corpus
    length = probe_duration(folder / "call-1-mono.mp3")
    assert 3 < length < 20
    with pytest.raises(AudioProbeError, match="not readable audio"):
        probe_duration(folder / "notes.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioProbeError, match="empty"):
        probe_duration(tmp_path / "empty.wav")
    parts = split_into_parts(folder / "call-1-mono.mp3", 2, tmp_path / "parts")
    assert len(parts) == 2
    assert sum(probe_duration(p) for p in parts) == pytest.approx(length, abs=0.3)
    assert split_into_parts(folder / "call-1-mono.mp3", 2, tmp_path / "parts") == parts  # reused


def recording(**fields: object) -> Recording:
    base: dict[str, object] = {
        "content_hash": "a" * 64,
        "source_uri": "file:///a.wav",
        "file_name": "a.wav",
        "duration_s": 60.0,
        "id": "rec_a",
        "added_at": utcnow(),
    }
    return Recording.model_validate(base | fields)


def test_request_options_follow_the_metadata() -> None:
    stereo = process_options(
        recording(
            separate_channels=True,
            speakers=[{"name": "Ana", "email": "ana@example.com", "channel": 1}, {"name": "Ben", "channel": 2}],
            custom_vocabulary=["Acme"],
            timezone_offset=-300,
        ),
        webhook_url="https://hooks.example/webhooks/symbl/t",
        trackers=[],
    ).wire()
    assert stereo["enableSeparateRecognitionPerChannel"] is True
    assert stereo["channelMetadata"] == [
        {"channel": 1, "speaker": {"name": "Ana", "email": "ana@example.com"}},
        {"channel": 2, "speaker": {"name": "Ben"}},
    ]
    assert "enableSpeakerDiarization" not in stereo
    assert (stereo["customVocabulary"], stereo["timezoneOffset"]) == (["Acme"], -300)
    assert stereo["webhookUrl"].endswith("/t")
    mono = process_options(recording(speaker_count=3), webhook_url=None, trackers=[]).wire()
    assert (mono["enableSpeakerDiarization"], mono["diarizationSpeakerCount"]) == (True, 3)
    assert "webhookUrl" not in mono and "mode" not in mono
    single = process_options(recording(speaker_count=1), webhook_url=None, trackers=[]).wire()
    assert "enableSpeakerDiarization" not in single
    phone = process_options(recording(metadata={PHONE_RATE_KEY: 8000}), webhook_url=None, trackers=[]).wire()
    assert phone["mode"] == "phone" and phone["diarizationSpeakerCount"] == 2


def test_trackers_kept_at_ingest_win_over_the_submitters() -> None:
    """The deployments ingest and submit in different runs: trackers travel with the recording."""
    at_ingest = [TrackerSpec(name="Budget", vocabulary=["budget", "price"])]
    submitters = [TrackerSpec(name="Other", vocabulary=["something"])]
    kept = recording(metadata={TRACKERS_KEY: tracker_metadata(at_ingest)})
    assert process_options(kept, webhook_url=None, trackers=submitters).wire()["trackers"] == [
        {"name": "Budget", "vocabulary": ["budget", "price"]}
    ]
    plain = process_options(recording(), webhook_url=None, trackers=submitters).wire()
    assert plain["trackers"] == [{"name": "Other", "vocabulary": ["something"]}]
    assert "trackers" not in process_options(recording(), webhook_url=None, trackers=[]).wire()


async def test_url_list_downloads_once_and_rejects_what_cannot_be_fetched(
    corpus: tuple[Path, dict[str, str]], http_folder: tuple[str, Path], tmp_path: Path
) -> None:
    folder, _ = corpus
    base, root = http_folder
    shutil.copy(folder / "call-1-mono.mp3", root / "call.mp3")
    items = await fetch_urls([f"{base}/call.mp3", f"{base}/missing.mp3"], tmp_path / "cache")
    ok, missing = items
    assert isinstance(missing, Rejected) and "404" in missing.reason
    assert not isinstance(ok, Rejected)
    assert ok.recording_url == f"{base}/call.mp3" and ok.path.read_bytes() == (folder / "call-1-mono.mp3").read_bytes()
    (root / "call.mp3").unlink()  # a second pass uses the cached copy
    (again, _) = await fetch_urls([f"{base}/call.mp3", f"{base}/missing.mp3"], tmp_path / "cache")
    assert not isinstance(again, Rejected) and again.path == ok.path


async def test_s3_bucket_is_listed_downloaded_and_presigned(
    s3_endpoint: str, corpus: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    folder, _ = corpus
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket="calls")
    client.upload_file(str(folder / "call-0-stereo.mp3"), "calls", "2026/11/a.mp3")
    client.put_object(Bucket="calls", Key="2026/11/readme.txt", Body=b"not a recording")
    client.put_object(Bucket="calls", Key="2025/old.mp3", Body=b"outside the prefix")
    (item,) = await scan_bucket("s3://calls/2026/", tmp_path / "cache", client)
    assert not isinstance(item, Rejected)
    assert item.source_uri == "s3://calls/2026/11/a.mp3"
    assert item.path.read_bytes() == (folder / "call-0-stereo.mp3").read_bytes()
    url = presign(client, item.source_uri, 600)
    assert "X-Amz-Expires=600" in url
    assert httpx.get(url).content == item.path.read_bytes()
