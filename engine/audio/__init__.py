"""Audio → transcript: decoding (PyAV), speech recognition (faster-whisper), speaker separation (per channel, or
diarization by speaker embeddings) and turn building. :func:`transcribe` is what a worker calls."""

from engine.audio.pipeline import AudioRefused, transcribe

__all__ = ["AudioRefused", "transcribe"]
