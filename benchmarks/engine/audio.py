"""Audio jobs end to end through a real engine: speed, memory, start-up and accuracy.

    .venv/bin/python -m benchmarks.engine.audio [--models tiny.en base] [--minutes 1 15] [--corpus]

For each model an engine with one worker is started (cold start: process start → worker ready, and the first job),
then every call is POSTed over HTTP and timed until the Job API says ``completed`` (decode, recognition, speaker
separation, the whole language analysis and the durable write). Calls are two-speaker dialogues made with espeak-ng
(tests/engine/audio.py): stereo (one speaker per channel, ``enableSeparateRecognitionPerChannel``) and mono
(``enableSpeakerDiarization``, 2 speakers), clean 16 kHz and the 8 kHz μ-law telephone copy (``mode=phone``).

Figures: real-time factor (job time ÷ audio length), the worker's peak RSS during the job (VmHWM, reset before each
job through /proc/<pid>/clear_refs), and against the script's truth: word error rate, speaker attribution of the
aligned words, talk-time error and the overlap found against the overlap scripted. ``--corpus`` adds short calls
over four voice pairs (pitches and speeds differ), with the 8 kHz copies sent both with and without ``mode=phone``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.engine.audio import Conversation, dialogue, make_conversation
from tests.engine.scoring import Score, score
from tests.engine.servers import EngineProcess

CHANNELS = '[{"channel":1,"speaker":{"name":"Agent"}},{"channel":2,"speaker":{"name":"Caller"}}]'


@dataclass
class Result:
    seconds: float
    rss_mb: float
    score: Score
    overlap: float


def _workers(engine: EngineProcess) -> list[int]:
    assert engine.process is not None
    children = Path(f"/proc/{engine.process.pid}/task/{engine.process.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def _reset_peak(pids: list[int]) -> None:
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _peak_mb(pids: list[int]) -> float:
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def query(kind: str, phone: bool) -> str:
    parts = ["enableSeparateRecognitionPerChannel=true", f"channelMetadata={CHANNELS}"]
    if kind.startswith("mono"):
        parts = ["enableSpeakerDiarization=true", "diarizationSpeakerCount=2"]
    return "&".join(parts + (["mode=phone"] if phone else []))


def submit_and_wait(engine: EngineProcess, path: Path, query: str) -> tuple[dict[str, str], float]:
    """POST the file, poll the Job API until it ends: (the Async API's answer, seconds); raises if it failed."""
    headers = {"Authorization": f"Bearer {engine.token()}"}
    began = time.perf_counter()
    response = httpx.post(
        f"{engine.url}/v1/process/audio?{query}",
        content=path.read_bytes(),
        headers={**headers, "Content-Type": "audio/wav"},
        timeout=300,
    )
    response.raise_for_status()
    ref = response.json()
    while (job := httpx.get(f"{engine.url}/v1/job/{ref['jobId']}", headers=headers).json())["status"] not in (
        "completed",
        "failed",
    ):
        time.sleep(0.1)
    if job["status"] != "completed":
        raise RuntimeError(f"job {ref['jobId']} failed: {job}")
    return ref, time.perf_counter() - began


def run_job(engine: EngineProcess, conversation: Conversation, kind: str, phone: bool) -> Result:
    headers = {"Authorization": f"Bearer {engine.token()}"}
    pids = _workers(engine)
    _reset_peak(pids)
    ref, seconds = submit_and_wait(engine, conversation.files[kind], query(kind, phone))
    base = f"{engine.url}/v1/conversations/{ref['conversationId']}"
    messages = httpx.get(base + "/messages?verbose=true", headers=headers, timeout=60).json()["messages"]
    analytics = httpx.get(base + "/analytics", headers=headers, timeout=60).json()
    overlap = next(m["seconds"] for m in analytics["metrics"] if m["type"] == "total_overlap")
    return Result(seconds, _peak_mb(pids), score(conversation, messages, analytics), overlap)


def speed(engine: EngineProcess, calls: dict[float, Conversation], model: str) -> list[dict[str, Any]]:
    rows = []
    for minutes, conversation in calls.items():
        for kind in ("stereo", "mono", "stereo-8k", "mono-8k"):
            result = run_job(engine, conversation, kind, phone=kind.endswith("8k"))
            row = {
                "model": model,
                "minutes": minutes,
                "audio": kind,
                "rtf": result.seconds / conversation.duration,
                "seconds": result.seconds,
                "rss_mb": result.rss_mb,
                "wer": result.score.wer,
                "attribution": result.score.attribution,
                "talk_time_error": result.score.talk_time_error,
                "overlap": result.overlap,
                "overlap_truth": conversation.overlap(),
            }
            print(
                f"| {model} | {minutes:g} min | {kind} | {row['rtf']:.3f} | {result.seconds:.1f} | "
                f"{result.rss_mb:.0f} | {result.score.wer:.3f} | {result.score.attribution:.3f} | "
                f"{result.score.talk_time_error:.3f} | {result.overlap:.1f} / {conversation.overlap():.1f} |",
                flush=True,
            )
            rows.append(row)
    return rows


def corpus(engine: EngineProcess, calls: list[Conversation], model: str) -> dict[str, Any]:
    """Mean figures over the corpus per audio kind; 8 kHz copies with and without mode=phone."""
    out: dict[str, Any] = {}
    for kind, phone in (
        ("stereo", False),
        ("mono", False),
        ("stereo-8k", False),
        ("stereo-8k", True),
        ("mono-8k", False),
        ("mono-8k", True),
    ):
        results = [run_job(engine, c, kind, phone) for c in calls]
        words = sum(r.score.words for r in results)
        label = kind + (" mode=phone" if phone else "")
        out[label] = figures = {
            "wer": sum(r.score.wer * r.score.words for r in results) / words,
            "attribution": statistics.mean(r.score.attribution or 0 for r in results),
            "talk_time_error": statistics.mean(r.score.talk_time_error or 0 for r in results),
            "overlap": sum(r.overlap for r in results),
            "overlap_truth": sum(c.overlap() for c in calls),
        }
        print(
            f"| {model} | {label} | {figures['wer']:.3f} | {figures['attribution']:.3f} | "
            f"{figures['talk_time_error']:.3f} | {figures['overlap']:.1f} / {figures['overlap_truth']:.1f} |",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 15.0])
    parser.add_argument("--corpus", action="store_true", help="also the accuracy corpus (four voice pairs)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    report: dict[str, Any] = {"speed": [], "start": {}, "corpus": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        calls = {
            m: make_conversation(folder / f"call-{m:g}", dialogue(m, seed=1), overlap_every=6) for m in args.minutes
        }
        pairs = [(0, 1), (2, 3), (1, 2), (3, 0)]
        set_ = [
            make_conversation(folder / f"corpus-{i}", dialogue(1, pair, seed=100 + i), overlap_every=5)
            for i, pair in enumerate(pairs)
        ]
        for model in args.models:
            began = time.perf_counter()
            engine = EngineProcess(folder / f"engine-{model}", workers=1, asr_model=model).start(timeout=600)
            ready = time.perf_counter() - began
            try:
                first = run_job(engine, calls[min(calls)], "stereo", phone=False)
                report["start"][model] = {"ready_s": ready, "first_job_s": first.seconds}
                print(f"\n{model}: cold start {ready:.1f} s to a ready worker; first job {first.seconds:.1f} s\n")
                print("| model | call | audio | RTF | s | RSS MB | WER | speaker attr. | talk-time err. | overlap |")
                print("|---|---|---|---|---|---|---|---|---|---|")
                report["speed"] += speed(engine, calls, model)
                if args.corpus:
                    print("\n| model | corpus audio | WER | speaker attr. | talk-time err. | overlap s found / true |")
                    print("|---|---|---|---|---|---|")
                    report["corpus"][model] = corpus(engine, set_, model)
            finally:
                engine.stop()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
