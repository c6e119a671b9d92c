"""The proposed product of an English complaint: linear models over TF-IDF word features.

Rules could name a product only where the text names one ("credit card"); the complaints say
it in their own words (a "balance transfer", a "servicer", an "inquiry"), so the weights were
learnt from the corpus's `train` rows by `train.py` and ship beside this module as JSON. Scoring
is one small numpy product (numpy comes with matplotlib already; scikit-learn only trains); its
reasons are the words that weighed most for the product chosen, so a handler can see why.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np

from ..models import Product

MODEL_FILE = Path(__file__).with_name("product_model.json")
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being am i me my we our "
    "you your he she it its they them their this that these those there here what which who whom when where why "
    "how all any both each few more most other some such only own same so than too very can will just do does did "
    "have has had having would could should shall may might must also into out up down over under again further "
    "then once about against between through during before after above below off xxxx xx".split()
)


READ = 300
"""Words read of a long narrative (of its first 600, stop words dropped): the product is named
early, and speed stays in thousands a second."""


FEWEST = 3
"""Known terms below which the model proposes nothing: a line such as "the staff was rude and hung
up" is not a narrative, and the model, which knows only its five products, would force one on it."""


def features(words: list[str]) -> list[str]:
    """The model's terms of a text: its first stems without stop words, and each pair of neighbours."""
    kept = [w for w in words[: 2 * READ] if w not in STOPWORDS and len(w) > 1 and not w.startswith("xx")][:READ]
    return kept + [f"{a} {b}" for a, b in zip(kept, kept[1:])]


class ProductModel:
    """The exported weights: a row of per-product weights for each term, and the biases."""

    def __init__(self, products: list[str], idf: dict[str, float], weights: dict[str, list[float]],
                 bias: list[float], bayes: dict[str, list[float]], blend: float) -> None:
        self.products = tuple(Product(p) for p in products)
        self.row = {term: i for i, term in enumerate(weights)}
        self.idf = np.array([idf[term] for term in weights], dtype=np.float64)
        self.matrix = np.array(list(weights.values()), dtype=np.float64)
        self.bias = np.array(bias, dtype=np.float64)
        self.bayes = np.array([bayes[term] for term in weights], dtype=np.float64)
        self.blend = blend

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> ProductModel:
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def propose(self, words: list[str]) -> tuple[Product, list[str]] | None:
        """The product and the terms that weighed most for it; None when it knows too few of the text's terms.

        Sublinear TF-IDF scaled to unit length, as the models were trained on; the logistic
        regression's and the naive Bayes' log-probabilities blended. The reasons are the terms
        that weighed most in the regression, the readable half.
        """
        counts = Counter(features(words))
        terms = [t for t in counts if t in self.row]
        if len(terms) < FEWEST:
            return None
        rows = [self.row[t] for t in terms]
        x = (1 + np.log(np.fromiter((counts[t] for t in terms), np.float64, len(terms)))) * self.idf[rows]
        x /= np.linalg.norm(x)
        weights = self.matrix[rows]
        scores = (1 - self.blend) * log_softmax(self.bias + x @ weights) + self.blend * log_softmax(x @ self.bayes[rows])
        best = int(scores.argmax())
        pull = x * weights[:, best]
        top = [int(i) for i in np.argsort(-pull)[:3] if pull[i] > 0]
        return self.products[best], [terms[i] for i in top]


def log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max()
    return shifted - np.log(np.exp(shifted).sum())


@cache
def model() -> ProductModel:
    """Loaded at the first English complaint, not at import."""
    return ProductModel.load()
