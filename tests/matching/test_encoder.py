"""The bundled ONNX model gives the embeddings sentence-transformers gives, without torch."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np

from newsletter.matching.encoder import encoder_get

REFERENCE = (
    Path(__file__).resolve().parent.parent / "data" / "matching" / "reference_embeddings.json"
)


def test_embeddings_match_the_reference_implementation():
    """Vectors computed by sentence-transformers (fp32, torch) for texts short, long (past the
    256-token cut) and empty; the int8 model stays within a cosine of 0.97 of each."""
    items = json.loads(REFERENCE.read_text())["items"]
    vectors = encoder_get().encode([item["text"] for item in items])
    reference = np.array([item["vector"] for item in items], dtype=np.float32)
    cosines = (vectors * reference).sum(axis=1)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert cosines.min() >= 0.97
    assert cosines.mean() >= 0.985


def test_embeddings_do_not_depend_on_the_batch_they_are_in():
    texts = ["robot manipulation", "a much longer sentence about lattice cryptography " * 5]
    together = encoder_get().encode(texts)
    alone = encoder_get().encode(texts[:1])
    assert np.array_equal(together[0], alone[0])


def test_the_service_runs_without_torch():
    assert "torch" not in sys.modules
    assert "transformers" not in sys.modules


def test_a_missing_model_falls_back_with_one_log_line(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="newsletter.matching.encoder"):
        assert encoder_get(tmp_path) is None
        assert encoder_get(tmp_path) is None
    assert len(caplog.records) == 1
    assert "keywords only" in caplog.records[0].getMessage()
