"""Benchmark: how good are the picks? P@10, nDCG@10 and AP on real labelled papers.

Run by hand: ``.venv/bin/python bench/quality.py [--split test|dev] [--tune]``. For each listing
date of the split, each reader profile ranks that day's papers; a pick is relevant when the
paper's categories include the profile's category. Profiles come twice: as a reader writes them
(a few keywords) and as the closest topics of the taxonomy. Methods: (a) TF-IDF cosine (the
baseline), (b) our lexical BM25, (c) semantic (MiniLM cosine), (d) the shipped hybrid, (e) the
hybrid after a simulated reader voted on each day's top 10 (relevant: "more like this", else
"less like this"). Then average precision on the human-labelled free-text interests.

Weights and thresholds are chosen on the dev split (``--tune`` searches them there and prints
the best); the test split is only ever reported. Embeddings are cached under var/bench/.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import itertools
import json
import math
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter.matching import engine, profiles  # noqa: E402
from newsletter.matching.encoder import MODEL_DIR, PAPER_BATCH_SIZE, Encoder, paper_text  # noqa: E402

SHARED = ROOT.parent / "shared" / "benchmark"
CACHE = ROOT / "var" / "bench"

# Reader profiles: (category, keywords as a reader writes them, closest taxonomy topics).
READERS = [
    ("cs.RO", "robot manipulation; motion planning; legged locomotion", ["robotics"]),
    (
        "cs.CV",
        "object detection; image segmentation; 3D reconstruction",
        ["computer-vision", "3d-vision"],
    ),
    ("cs.CL", "machine translation; question answering; language models", ["nlp", "llms"]),
    (
        "cs.CR",
        "malware detection; privacy attacks; cryptographic protocols",
        ["security-adversarial", "federated-privacy"],
    ),
    ("cs.SE", "software testing; program repair; code review", ["code"]),
    ("cs.HC", "user study; interaction design; accessibility", ["hci"]),
    ("cs.LG", "deep learning; optimization; generalization", ["optimization", "learning-theory"]),
    ("cs.AI", "knowledge representation; planning; reasoning agents", ["reasoning", "agents"]),
    ("cs.IT", "channel coding; information theory; MIMO", []),
    ("cs.NI", "wireless networks; network protocols; edge computing", []),
    ("cs.DB", "query optimization; database systems; data management", []),
    ("cs.NE", "evolutionary algorithms; spiking neural networks; neuromorphic computing", []),
    ("cs.GT", "mechanism design; auctions; Nash equilibrium", []),
    ("cs.LO", "formal verification; model checking; type theory", []),
    (
        "cs.MA",
        "multi-agent systems; agent coordination; multi-agent reinforcement learning",
        ["agents"],
    ),
]

# Free-text interests for the human labels in interest_labels/annot/<label>.jsonl.
LABEL_INTERESTS = {
    "new-dataset": "new dataset",
    "data-quality": "data quality; annotation errors",
    "benchmark": "benchmark",
    "llms": "large language models",
    "llm": "large language models",
    "dev-research": "software developers; developer productivity",
    "data-annotation": "data annotation",
    "prompt-eng": "prompt engineering",
}


def load_topics() -> dict[str, tuple[str, str, list[str]]]:
    path = ROOT / "subscriptions" / "migrations" / "0002_topics.py"
    spec = importlib.util.spec_from_file_location("topics", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {slug: (name, desc, phrases) for _, slug, name, desc, phrases in module.TOPICS}


def load_split(name: str) -> list[dict]:
    with open(SHARED / f"arxiv_papers_{name}.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["cats"] = tuple(row["categories"].split())
    return rows


def embeddings(encoder: Encoder | None, texts: list[str], tag: str) -> np.ndarray | None:
    if encoder is None:
        return None
    digest = hashlib.sha256(("\n".join(texts) + tag + f"/{PAPER_BATCH_SIZE}").encode()).hexdigest()[
        :16
    ]
    path = CACHE / f"emb-{digest}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    vectors = encoder.encode(texts)
    print(
        f"  embedded {len(texts)} texts in {time.perf_counter() - started:.1f} s", file=sys.stderr
    )
    np.save(path, vectors.astype(np.float16))
    return vectors.astype(np.float16)


# --- TF-IDF baseline -----------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def tfidf_scores(query: str, docs: list[str], df: Counter, n_docs: int) -> np.ndarray:
    def vec(textual: str) -> dict[str, float]:
        counts = Counter(_WORD.findall(textual.lower()))
        weights = {
            t: (1 + math.log(c)) * math.log((1 + n_docs) / (1 + df.get(t, 0)))
            for t, c in counts.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {t: w / norm for t, w in weights.items()}

    q = vec(query)
    return np.array([sum(w * d.get(t, 0.0) for t, w in q.items()) for d in map(vec, docs)])


# --- Metrics -------------------------------------------------------------------------------


def p_at_10(relevant: list[bool]) -> float:
    return sum(relevant[:10]) / 10


def ndcg_at_10(relevant: list[bool], total_relevant: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(relevant[:10]) if r)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, total_relevant)))
    return dcg / ideal if ideal else 0.0


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits, total = 0, 0.0
    for rank, index in enumerate(order, start=1):
        if labels[index]:
            hits += 1
            total += hits / rank
    return total / max(1, int(labels.sum()))


# --- The evaluation ------------------------------------------------------------------------


class Evaluation:
    def __init__(self, split: str, encoder: Encoder | None, tag: str) -> None:
        self.topics = load_topics()
        self.encoder = encoder
        dev = load_split("dev")
        rows = dev if split == "dev" else dev + load_split(split)
        self.rows = rows
        self.days = sorted({r["first_seen_listing_date"] for r in load_split(split)})
        self.vectors = embeddings(
            encoder, [paper_text(r["title"], r["abstract"]) for r in rows], tag
        )
        self.terms = [engine.paper_terms(r["title"], r["abstract"]) for r in rows]
        self.words = [set(_WORD.findall((r["title"] + " " + r["abstract"]).lower())) for r in rows]
        self.by_day = defaultdict(list)
        for i, r in enumerate(rows):
            self.by_day[r["first_seen_listing_date"]].append(i)
        self.topic_vectors = {}
        self._days = {}
        self.phrase_cache = {}
        if encoder is not None:
            slugs = sorted(self.topics)
            texts = [profiles.topic_text(*self.topics[s]) for s in slugs]
            self.topic_vectors = dict(zip(slugs, encoder.encode(texts), strict=True))

    def profile_sets(self) -> list[tuple[str, str, engine.Profile]]:
        out = []
        for n, (cat, keywords, _) in enumerate(READERS):
            kws = tuple(k.strip() for k in keywords.split(";"))
            out.append((f"{cat} keywords", cat, engine.Profile(subscriber_id=n, keywords=kws)))
        for n, (cat, _, slugs) in enumerate(READERS):
            if slugs:
                topics = tuple(
                    engine.TopicRef(self.topics[s][0], tuple(self.topics[s][2])) for s in slugs
                )
                out.append(
                    (f"{cat} topics", cat, engine.Profile(subscriber_id=100 + n, topics=topics))
                )
        return out

    def base_vector(self, profile: engine.Profile) -> np.ndarray | None:
        if self.encoder is None:
            return None
        topic_vectors = [
            self.topic_vectors[s]
            for t in profile.topics
            for s, v in self.topics.items()
            if v[0] == t.name
        ]
        profiles.phrase_vectors(self.encoder, profile.keywords, self.phrase_cache)
        return profiles.profile_vectors(
            keyword_vectors=[[self.phrase_cache[k] for k in profile.keywords]],
            topic_vectors=[topic_vectors],
            liked_vectors=[[]],
        )[0]

    def day_data(self, day: str):
        if day not in self._days:
            cols = self.by_day[day]
            stored = [i for i, r in enumerate(self.rows) if r["first_seen_listing_date"] < day]
            df, n_docs = engine.document_frequencies(self.terms[i] for i in stored + cols)
            words_df = Counter()
            for i in stored + cols:
                words_df.update(self.words[i])
            papers = [
                engine.PaperDoc(
                    id=i,
                    arxiv_id=self.rows[i]["arxiv_id"],
                    title=self.rows[i]["title"],
                    abstract=self.rows[i]["abstract"],
                    categories=self.rows[i]["cats"],
                )
                for i in cols
            ]
            vectors = None if self.vectors is None else self.vectors[cols]
            self._days[day] = (
                cols,
                stored,
                df,
                n_docs,
                words_df,
                engine.day_prepare(papers, vectors),
            )
        return self._days[day]

    def run(
        self, params: engine.Params, methods: list[str]
    ) -> dict[str, dict[str, tuple[float, float]]]:
        """{method: {profile label: (P@10, nDCG@10)}} averaged over the split's days."""
        results: dict[str, dict[str, tuple[float, float]]] = {m: {} for m in methods}
        for label, cat, profile in self.profile_sets():
            per = {m: [] for m in methods}
            vector = self.base_vector(profile)
            more, less = [], []
            for day in self.days:
                cols, stored, df, n_docs, words_df, day_obj = self.day_data(day)
                relevant = np.array([cat in self.rows[i]["cats"] for i in cols])
                total = int(relevant.sum())
                for method in methods:
                    order = self.order(
                        method,
                        profile,
                        vector,
                        more,
                        less,
                        day_obj,
                        cols,
                        stored,
                        df,
                        n_docs,
                        words_df,
                        params,
                    )
                    flags = [bool(relevant[c]) for c in order]
                    per[method].append((p_at_10(flags), ndcg_at_10(flags, total)))
                    if method == "feedback":
                        top = order[:10]
                        more += [self.vectors[cols[c]] for c in top if relevant[c]]
                        less += [self.vectors[cols[c]] for c in top if not relevant[c]]
            for method in methods:
                values = np.array(per[method])
                results[method][label] = (float(values[:, 0].mean()), float(values[:, 1].mean()))
        return results

    def order(
        self,
        method,
        profile,
        vector,
        more,
        less,
        day_obj,
        cols,
        stored,
        df,
        n_docs,
        words_df,
        params,
    ) -> list[int]:
        if method == "tfidf":
            query = "; ".join(profile.keywords) or " ".join(
                p for t in profile.topics for p in t.phrases
            )
            docs = [self.rows[i]["title"] + " " + self.rows[i]["abstract"] for i in cols]
            scores = tfidf_scores(query, docs, words_df, len(stored) + len(cols))
            return sorted(range(len(cols)), key=lambda c: (-scores[c], c))
        if method == "semantic":
            scores = day_obj.vectors.astype(np.float32) @ vector
            return sorted(range(len(cols)), key=lambda c: (-scores[c], c))
        if method == "lexical":
            params = replace(params, w_cat=0.0, w_pop=0.0)
            vectors = None
        else:
            vectors = vector
            if method == "feedback" and (more or less):
                vectors = profiles.rocchio(vector, more=more, less=less)
        if vectors is not None and params.w_cat and stored:
            cats = profiles.category_weights(
                profile_vectors=vectors[None, :],
                corpus_vectors=self.vectors[stored],
                corpus_categories=[self.rows[i]["cats"] for i in stored],
            )[0]
            profile = replace(profile, categories=cats)
        day = day_obj if vectors is not None else replace(day_obj, vectors=None)
        scores = engine.day_scores(
            day=day,
            profiles=[profile],
            profile_vectors=None if vectors is None else vectors[None, :],
            df=df,
            n_docs=n_docs,
            already_sent={},
            params=params,
        )
        top, counts = engine.top_picks(
            profiles=[profile], scores=scores, limit=len(cols), threshold=False
        )
        return top[0, : counts[0]].tolist()

    def label_ap(self, params: engine.Params) -> dict[str, dict[str, float]]:
        """{method: {label: AP}} over the human-labelled sentences."""
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for path in sorted((SHARED / "interest_labels" / "annot").glob("*.jsonl")):
            items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            key = path.stem
            labels = np.array([int(next(iter(i["cats"].values()))) for i in items])
            if labels.sum() == 0 or labels.sum() == len(labels):
                continue
            interest = LABEL_INTERESTS[key]
            texts = [i["text"] for i in items]
            profile = engine.Profile(
                subscriber_id=0, keywords=tuple(k.strip() for k in interest.split(";"))
            )
            words = [set(_WORD.findall(t.lower())) for t in texts]
            wdf = Counter(w for ws in words for w in ws)
            out["tfidf"][key] = average_precision(
                tfidf_scores(interest, texts, wdf, len(texts)), labels
            )
            papers = [
                engine.PaperDoc(id=n, arxiv_id=None, title="", abstract=t)
                for n, t in enumerate(texts)
            ]
            df, n_docs = engine.document_frequencies(engine.paper_terms("", t) for t in texts)
            vectors = embeddings(self.encoder, texts, "labels")
            day = engine.day_prepare(papers, vectors)
            vector = self.base_vector(profile)
            lex = engine.day_scores(
                day=replace(day, vectors=None),
                profiles=[profile],
                profile_vectors=None,
                df=df,
                n_docs=n_docs,
                already_sent={},
                params=params,
            )
            out["lexical"][key] = average_precision(lex.lexical[0], labels)
            if vector is not None:
                cos = vectors.astype(np.float32) @ vector
                out["semantic"][key] = average_precision(cos, labels)
                hyb = engine.day_scores(
                    day=day,
                    profiles=[profile],
                    profile_vectors=vector[None, :],
                    df=df,
                    n_docs=n_docs,
                    already_sent={},
                    params=replace(params, w_cat=0.0, w_pop=0.0),
                )
                out["hybrid"][key] = average_precision(hyb.rank[0], labels)
            out["positives"][key] = f"{int(labels.sum())}/{len(labels)}"
        return out


def calibrate(evaluation: Evaluation, params: engine.Params) -> None:
    """Print how the threshold's precision and volume vary on this split (for choosing it on dev)."""
    pairs = []
    for _, cat, profile in evaluation.profile_sets():
        vector = evaluation.base_vector(profile)
        for day in evaluation.days:
            cols = evaluation.by_day[day]
            cos = evaluation.vectors[cols].astype(np.float32) @ vector
            for c, i in enumerate(cols):
                pairs.append((float(cos[c]), cat in evaluation.rows[i]["cats"]))
    pairs = np.array(pairs)
    print("\nthreshold on cosine: precision of pairs above it, picks per profile and day")
    n_profile_days = len(evaluation.profile_sets()) * len(evaluation.days)
    for t in (0.2, 0.25, 0.3, 0.32, 0.35, 0.4, 0.45):
        above = pairs[pairs[:, 0] >= t]
        prec = above[:, 1].mean() if len(above) else float("nan")
        print(f"  {t:.2f}: precision {prec:.3f}, {len(above) / n_profile_days:.1f} per profile-day")


def threshold_volume(evaluation: Evaluation, params: engine.Params) -> None:
    """Print what the shipped threshold lets through (before the max_papers cap): papers per
    profile and day and their precision, and how many of them only a keyword in the title brings
    (the title-phrase rule, ``engine.TITLE_PHRASE_GAP``): it must not flood a digest."""
    passed, by_phrase = [], []
    for _, cat, profile in evaluation.profile_sets():
        vector = evaluation.base_vector(profile)
        for day in evaluation.days:
            cols, _, df, n_docs, _, day_obj = evaluation.day_data(day)
            scores = engine.day_scores(
                day=day_obj if vector is not None else replace(day_obj, vectors=None),
                profiles=[profile],
                profile_vectors=None if vector is None else vector[None, :],
                df=df,
                n_docs=n_docs,
                already_sent={},
                params=params,
            )
            before = scores.title_share[0] >= params.min_lex
            if scores.cosine is not None:
                before |= scores.cosine[0] >= params.min_cosine
            for c in np.flatnonzero(scores.eligible[0]):
                passed.append(cat in evaluation.rows[cols[c]]["cats"])
                if not before[c]:
                    by_phrase.append(passed[-1])
    n = len(evaluation.profile_sets()) * len(evaluation.days)
    print(
        f"\nthreshold: {len(passed) / n:.2f} papers per profile-day pass it, precision "
        f"{np.mean(passed) if passed else float('nan'):.3f}; of them {len(by_phrase) / n:.2f} only "
        f"by a keyword in the title (gap {engine.TITLE_PHRASE_GAP}), precision "
        f"{np.mean(by_phrase) if by_phrase else float('nan'):.3f}"
    )


def table(results, methods, names) -> None:
    labels = list(next(iter(results.values())))
    print(f"{'profile':<18}" + "".join(f"{names[m]:>20}" for m in methods))
    print(f"{'':<18}" + "".join(f"{'P@10  nDCG@10':>20}" for _ in methods))
    for label in labels:
        print(
            f"{label:<18}"
            + "".join(f"{results[m][label][0]:>11.3f}{results[m][label][1]:>9.3f}" for m in methods)
        )
    print(
        f"{'MEAN':<18}"
        + "".join(
            f"{np.mean([v[0] for v in results[m].values()]):>11.3f}{np.mean([v[1] for v in results[m].values()]):>9.3f}"
            for m in methods
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Matching quality on the labelled splits.")
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--tune", action="store_true", help="grid-search weights (dev split only)")
    parser.add_argument(
        "--model", type=Path, default=MODEL_DIR / "model.onnx", help="ONNX file to use"
    )
    args = parser.parse_args()
    if args.tune and args.split != "dev":
        parser.error("--tune only on the dev split: the test split is held out.")
    encoder = (
        Encoder(args.model.parent, model_file=args.model.name) if args.model.exists() else None
    )
    tag = (
        hashlib.sha256(args.model.read_bytes()).hexdigest()[:12] if args.model.exists() else "none"
    )
    evaluation = Evaluation(args.split, encoder, tag)
    params = engine.DEFAULT_PARAMS
    if args.tune:
        best = None
        for w_lex, w_cat in itertools.product((0.0, 0.1, 0.2), (0.0, 1.0, 2.0, 3.0)):
            p = replace(params, w_sem=1.0 - w_lex, w_lex=w_lex, w_cat=w_cat)
            res = evaluation.run(p, ["hybrid"])["hybrid"]
            mean = float(np.mean([v[0] for v in res.values()]))
            print(f"w_lex={w_lex} w_cat={w_cat}: P@10 {mean:.3f}", flush=True)
            if best is None or mean > best[0]:
                best = (mean, p)
        print(f"best on dev: {best}")
        calibrate(evaluation, params)
        return
    methods = ["tfidf", "lexical", "semantic", "hybrid", "feedback"]
    names = {
        "tfidf": "(a) TF-IDF",
        "lexical": "(b) lexical BM25",
        "semantic": "(c) semantic",
        "hybrid": "(d) hybrid",
        "feedback": "(e) hybrid+feedback",
    }
    if encoder is None:
        methods = ["tfidf", "lexical"]
    started = time.perf_counter()
    results = evaluation.run(params, methods)
    print(
        f"Split: {args.split} ({len(evaluation.days)} listing days, "
        f"{sum(len(evaluation.by_day[d]) for d in evaluation.days)} papers); model {args.model.name}\n"
    )
    table(results, methods, names)
    threshold_volume(evaluation, params)
    print("\nAverage precision on interest_labels (free-text interests, human labels)")
    ap = evaluation.label_ap(params)
    keys = list(ap["tfidf"])
    print(f"{'label':<18}{'positives':>12}" + "".join(f"{m:>12}" for m in ap if m != "positives"))
    for key in keys:
        print(
            f"{key:<18}{ap['positives'][key]:>12}"
            + "".join(f"{ap[m][key]:>12.3f}" for m in ap if m != "positives")
        )
    print(
        f"{'MEAN':<18}{'':>12}"
        + "".join(f"{np.mean(list(ap[m].values())):>12.3f}" for m in ap if m != "positives")
    )
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
