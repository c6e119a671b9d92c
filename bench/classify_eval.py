"""How the preliminary classification does on real complaints: issue 17's goals, train and dev.

    python bench/classify_eval.py                       # the shared corpus
    python bench/classify_eval.py --corpus PATH/corpus.jsonl

Reads the labelled corpus (../shared/corpus, see its SOURCES.md), classifies every row as a
web-form complaint, and prints per split: the goals table, the product accuracy on the
five-class study set, a confusion matrix per source and the speed. Prints figures only; the
tests hold the named cases.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from complaints.domain.classify import classify  # noqa: E402
from complaints.domain.classify.train import GOLD_PRODUCT  # noqa: E402
from complaints.domain.models import Channel, Classification, Severity  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "corpus.jsonl"
"""../shared beside the main checkout; a worktree elsewhere passes --corpus."""
FIVE_CLASS = "cfpb_preprocessed_appliedai"
CFPB_COLLECTION = ("debt_collection", "Debt collection")
"""CFPB narratives filed under debt collection (the public comments are counted apart)."""


def share(rows: list[tuple[dict, Classification]], hit) -> tuple[float, int, int]:
    n = sum(1 for row, c in rows if hit(row, c))
    return (n / len(rows) if rows else 0.0), n, len(rows)


def goals(rows: list[tuple[dict, Classification]]) -> list[tuple[str, tuple[float, int, int], str, bool]]:
    """Each goal's figure, its target and whether it holds."""
    collection = lambda _, c: c.category.group == "collection"  # noqa: E731
    urgent = share(rows, lambda _, c: c.severity is Severity.urgent)
    heimao = share([x for x in rows if x[0]["label"] == "催收行为类"], collection)
    cfpb = share([x for x in rows if x[0]["product"] in CFPB_COLLECTION], collection)
    other = share(rows, lambda _, c: c.category.value == "service.other")
    five = [x for x in rows if x[0]["source"] == FIVE_CLASS]
    accuracy = share(five, lambda r, c: c.product is GOLD_PRODUCT[r["product"]])
    return [("share marked urgent", urgent, "<= 1%", urgent[0] <= 0.01),
            ("黑猫 催收行为类 -> collection.*", heimao, ">= 85%", heimao[0] >= 0.85),
            ("CFPB debt_collection -> collection.*", cfpb, ">= 60%", cfpb[0] >= 0.60),
            ("catch-all service.other", other, "<= 20%", other[0] <= 0.20),
            ("product accuracy, five-class set", accuracy, ">= 0.78", accuracy[0] >= 0.78)]


def confusion(rows: list[tuple[dict, Classification]], gold, predicted) -> list[str]:
    """A text matrix: gold labels down, predictions across."""
    counts = Counter((gold(r), predicted(c)) for r, c in rows)
    golds = sorted({g for g, _ in counts})
    preds = sorted({p for _, p in counts})
    width = max(len(g) for g in golds) + 1
    lines = [" " * width + " ".join(f"{p[:10]:>10}" for p in preds)]
    for g in golds:
        lines.append(f"{g:<{width}}" + " ".join(f"{counts[(g, p)]:>10}" for p in preds))
    return lines


def report(split: str, rows: list[tuple[dict, Classification]]) -> list[str]:
    out = [f"## {split} ({len(rows)} rows)", "", "| figure | measured | goal | holds |", "| --- | ---: | ---: | --- |"]
    for name, (value, n, total), goal, holds in goals(rows):
        shown = f"{value:.3f}" if "accuracy" in name else f"{value:.1%}"
        out.append(f"| {name} | {shown} ({n}/{total}) | {goal} | {'yes' if holds else 'NO'} |")
    signs = Counter(reason.split(" (")[0].removeprefix("urgent: ") for _, c in rows for reason in c.reasons
                    if reason.startswith("urgent: "))
    out += ["", "urgent by sign: " + (", ".join(f"{s} {n}" for s, n in signs.most_common()) or "none")]
    cdcp = share([x for x in rows if x[0]["source"].startswith("cdcp")], lambda _, c: c.category.group == "collection")
    out.append(f"public comments on debt collection -> collection.*: {cdcp[0]:.1%} ({cdcp[1]}/{cdcp[2]})")
    for source in sorted({r["source"] for r, _ in rows}):
        of_source = [x for x in rows if x[0]["source"] == source]
        out += ["", f"### {source}: " + ("label x category group, then x product" if of_source[0][0]["lang"] != "en"
                                         else "gold product x proposed product"), "", "```"]
        if of_source[0][0]["lang"] != "en":
            out += confusion(of_source, lambda r: r["label"] or "-", lambda c: c.category.group)
            out += [""] + confusion(of_source, lambda r: r["label"] or "-", lambda c: c.product.value)
        else:
            out += confusion(of_source, lambda r: GOLD_PRODUCT[r["product"]].value, lambda c: c.product.value)
        out.append("```")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    classify(Channel.web_form, "warm-up: load the product model")
    started = time.process_time()
    results = [(row, classify(Channel.web_form, row["text"])) for row in rows]
    elapsed = time.process_time() - started
    for split in ("train", "dev"):
        print("\n".join(report(split, [x for x in results if x[0]["split"] == split])), end="\n\n")
    print(f"speed: {len(rows) / elapsed:,.0f} texts per second ({len(rows)} texts, "
          f"{sum(len(r['text']) for r in rows) / len(rows):.0f} characters on average, CPU time of this process)")
    print("products proposed:", dict(Counter(c.product.value for _, c in results).most_common()))


if __name__ == "__main__":
    main()
