"""The proposed product of an English complaint: a linear model over TF-IDF word features.

Rules could name a product only where the text names one ("credit card"); the complaints say
it in their own words (a "balance transfer", a "servicer", an "inquiry"), so the weights were
learnt from the corpus's `train` rows by `train.py` and ship beside this module as JSON. Scoring
is a dictionary walk in pure Python, no numerical library at run time; its reasons are the
words that weighed most for the product chosen, so a handler can see why.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..models import Product

MODEL_FILE = Path(__file__).with_name("product_model.json")
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being am i me my we our "
    "you your he she it its they them their this that these those there here what which who whom when where why "
    "how all any both each few more most other some such only own same so than too very can will just do does did "
    "have has had having would could should shall may might must also into out up down over under again further "
    "then once about against between through during before after above below off xxxx xx".split()
)


def features(words: list[str]) -> list[str]:
    """The model's terms of a text: its stems without stop words, and each pair of neighbours."""
    kept = [w for w in words if w not in STOPWORDS and len(w) > 1 and not w.startswith("xx")]
    return kept + [f"{a} {b}" for a, b in zip(kept, kept[1:])]


def weigh(terms: list[str], idf: dict[str, float]) -> dict[str, float]:
    """Sublinear TF-IDF of the known terms, scaled to unit length."""
    counts = Counter(t for t in terms if t in idf)
    vector = {t: (1 + math.log(n)) * idf[t] for t, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {t: v / norm for t, v in vector.items()}


@dataclass(frozen=True)
class ProductModel:
    products: tuple[Product, ...]
    idf: dict[str, float]
    weights: dict[str, tuple[float, ...]]
    bias: tuple[float, ...]

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> ProductModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(products=tuple(Product(p) for p in data["products"]), idf=data["idf"],
                   weights={t: tuple(w) for t, w in data["weights"].items()}, bias=tuple(data["bias"]))

    def scores(self, vector: dict[str, float]) -> list[float]:
        totals = list(self.bias)
        for term, value in vector.items():
            for k, w in enumerate(self.weights[term]):
                totals[k] += w * value
        return totals

    def propose(self, words: list[str]) -> tuple[Product, list[str]] | None:
        """The product and the terms that weighed most for it; None when no known term is there."""
        vector = weigh(features(words), self.idf)
        if not vector:
            return None
        totals = self.scores(vector)
        best = max(range(len(totals)), key=totals.__getitem__)
        pull = sorted(vector, key=lambda t: self.weights[t][best] * vector[t], reverse=True)
        return self.products[best], [t for t in pull[:3] if self.weights[t][best] > 0]


@cache
def model() -> ProductModel:
    """Loaded at the first English complaint, not at import."""
    return ProductModel.load()
