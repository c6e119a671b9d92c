"""Preliminary classification at receipt: product, category and severity, each with its reasons.

A proposal for the handler to confirm or correct at assessment, not a verdict; its value is
that an urgent complaint (a threat to someone's safety, self-harm, the press, a mass complaint)
reaches the emergency team within seconds instead of at the next shift, and that it is urgent
rarely enough for the team to believe it. Words are matched as words (see `text`), the
product comes first and the conduct second: a card stolen at night is a card complaint, not
a call at night.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

from ..models import Category, Channel, Classification, Product, Severity
from .product import model
from .text import Hit, Lexicon, english_words, is_chinese
from .vocabulary import CATEGORY_WORDS, PRODUCT_WORDS, FirmRules

URGENT_TRANSFER = ("紧急", "加急", "urgent")
"""A regulator's transfer marked urgent is urgent (a phrase in the text, as no field carries it)."""

FALLBACK: dict[Product, Category] = {Product.collection: Category.collection_repeated,
                                     Product.credit_reporting: Category.card_account_error}
"""The category when no conduct word is found: a debt still collected, a report's error."""

CREDIT = (Product.loan, Product.card, Product.collection)

CALLED = (Category.collection_third_party,)
"""Conduct that is collecting a debt when it comes with calls: relatives, friends or the employer called."""

PRESSING = (Category.collection_abusive, Category.collection_privacy)
"""Conduct that, about a debt or a credit product, is collecting it where no collection word is
written (a threat, a disclosure). A relative or a friend named without a call (CALLED) is not:
they come up as often in other complaints."""


@cache
def lexicon(rules: FirmRules) -> Lexicon:
    return Lexicon(rules.entries())


def classify(channel: Channel, text: str, rules: FirmRules = FirmRules()) -> Classification:
    """Propose a product, a category and a severity for a complaint received on `channel`."""
    lowered = text.lower()
    words = english_words(lowered)
    hits = [hit for hit in lexicon(rules).find(lowered, words)]
    product, reasons = propose_product(lowered, words, hits)
    category, why = propose_category(product, hits)
    severity, because = propose_severity(channel, lowered, category, hits)
    return Classification(category=category, severity=severity, product=product, reasons=reasons + why + because)


def propose_product(lowered: str, words: list[str], hits: list[Hit]) -> tuple[Product, list[str]]:
    """Chinese: the product words counted; English: the model, reading the words it knows."""
    if is_chinese(lowered):
        votes = Counter(label.split(":", 1)[1] for hit in hits for label in hit.labels if label.startswith("product:"))
        if not votes:
            return Product.other, ["product: no product word"]
        best = max(PRODUCT_WORDS, key=lambda p: votes[p.value])  # ties: the earlier product
        return best, [f"product {best.value}: " + ", ".join(h.phrase for h in hits if f"product:{best.value}" in h.labels)]
    proposed = model().propose(words)
    if proposed is None:
        return Product.other, ["product: no known word"]
    product, terms = proposed
    return product, [f"product {product.value}: model, most by " + ", ".join(terms)]


def propose_category(product: Product, hits: list[Hit]) -> tuple[Category, list[str]]:
    """The conduct with the most words among the categories that fit the product.

    Where a debt is being collected (a collection word, a call at night, or pressing conduct or
    calls to others about a debt or a credit product) only a collection category fits; elsewhere
    none does, so 凌晨 or 家人 alone name no collection conduct. A collection product proposed by
    the model alone takes its collection conduct, else any conduct named, else `repeated`.
    """
    counts = Counter(label.split(":", 1)[1] for hit in hits for label in hit.labels if label.startswith("category:"))
    about_debt = product in CREDIT or any("debt" in hit.labels for hit in hits)
    called = any("contact" in hit.labels for hit in hits)
    collecting = (any("collection" in hit.labels for hit in hits)
                  or (called and counts[Category.collection_off_hours.value] > 0)
                  or (about_debt and ((called and any(counts[c.value] for c in CALLED))
                                      or any(counts[c.value] for c in PRESSING))))
    fits = [c for c in CATEGORY_WORDS if (c.group == "collection") == collecting]
    if product is Product.collection and not collecting:  # the product alone: its conduct, else any
        named = [c for c in CATEGORY_WORDS if c.group == "collection" and counts[c.value]]
        fits = named or [c for c in CATEGORY_WORDS if counts[c.value]] or fits
        collecting = True
    best = max(fits, key=lambda c: counts[c.value])  # ties: the earlier category
    if counts[best.value]:
        words = [h.phrase for h in hits if f"category:{best.value}" in h.labels]
        return best, [f"category {best.value}: " + ", ".join(dict.fromkeys(words))]
    fallback = FALLBACK.get(Product.collection if collecting else product, Category.service_other)
    return fallback, [f"category {fallback.value}: no conduct word, by product"]


def propose_severity(channel: Channel, lowered: str, category: Category, hits: list[Hit]) -> tuple[Severity, list[str]]:
    """Urgent on a sign's phrase not negated; high on money at risk or a legal or regulatory step."""
    signs = {label.split(":", 1)[1]: hit.phrase for hit in hits if not hit.negated
             for label in hit.labels if label.startswith("urgent:")}
    if channel is Channel.regulator and any(word in lowered for word in URGENT_TRANSFER):
        signs["regulator's urgent transfer"] = "urgent"
    if signs:
        return Severity.urgent, ["urgent: " + ", ".join(f"{sign} ({phrase})" for sign, phrase in signs.items())]
    reasons = []
    severity = Severity.normal
    legal = [hit.phrase for hit in hits if "high" in hit.labels]
    if category is Category.card_unauthorized_transaction or legal:
        severity = Severity.high
        reasons.append("high: " + ("money taken without consent" if not legal else "legal or regulatory step: "
                                                                                   + ", ".join(dict.fromkeys(legal))))
    if channel is Channel.regulator and severity is not Severity.high:
        severity = Severity.high
        reasons.append("regulator transfer: at least high")
    return severity, reasons
