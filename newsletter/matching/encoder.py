"""The encoder seam: all-MiniLM-L6-v2 as an ONNX model run by onnxruntime, no torch.

``encoder_get()`` loads the committed model once per process and returns ``None`` (with one log
line) when the model file is missing, so matching falls back to its lexical signal. Nothing is
ever downloaded. Embeddings are what sentence-transformers gives for this model: tokens truncated
at 256, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "model"
DIMENSIONS = 384
MAX_TOKENS = 256
# int8 dynamic quantisation scales activations over the whole batch, so a vector made in a batch
# depends (slightly) on its neighbours. Keywords are encoded one per run, so a subscriber's
# profile never depends on who else changed their preferences that day (about 1.6x slower on
# short texts); papers, whose vectors are stored once, in batches of 8 (300 abstracts: 7 s and
# +220 MB; batches of 32 took as long and +950 MB, one by one 3 times as long).
BATCH_SIZE = 1
PAPER_BATCH_SIZE = 8

_lock = threading.Lock()
_cache: dict[Path, Encoder | None] = {}


class Encoder:
    """Sentence embeddings for lists of texts; thread-safe, one ONNX session per process."""

    def __init__(self, model_dir: Path, *, model_file: str = "model.onnx") -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model_dir / model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()

    def encode(self, texts: list[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit vectors, one float32 row per text, in order."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Batches of similar length waste less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)


def encoder_get(model_dir: Path | None = None) -> Encoder | None:
    """The process's encoder, or ``None`` when the model is missing (logged once)."""
    model_dir = model_dir or MODEL_DIR
    with _lock:
        if model_dir not in _cache:
            if (model_dir / "model.onnx").is_file() and (model_dir / "tokenizer.json").is_file():
                _cache[model_dir] = Encoder(model_dir)
            else:
                logger.warning(
                    "Matching model not found in %s: ranking papers by keywords only.", model_dir
                )
                _cache[model_dir] = None
        return _cache[model_dir]


def paper_text(title: str, abstract: str) -> str:
    """What a paper's vector is computed from."""
    return f"{title.strip()}. {abstract.strip()}" if abstract.strip() else title.strip()
