"""Words, not substrings: English tokens with a light stemmer, Chinese phrases by longest match.

"immediately" must not contain "media", nor 砍头息 (an upfront-interest fee) contain 砍. English
text is split into word tokens and each token reduced to a stem, so "harassed", "harassing"
and "harassment" meet one phrase. Chinese has no spaces: a phrase list is matched leftmost
and longest first, so a longer compound listed beside a word (砍头息 beside 砍) takes its
characters away from the word. One compiled pattern per lexicon keeps this far above
thousands of texts a second, which a full segmenter (jieba: about 400 kB/s) would not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
CJK = re.compile(r"[\u3400-\u9fff]")
SUFFIXES = ("ations", "ation", "ments", "ment", "ingly", "ings", "ing", "edly", "ed", "ies", "es", "ly", "s")
ENGLISH_NEGATIONS = frozenset({"not", "no", "never", "nor", "without"})
CHINESE_NEGATIONS = ("没有", "并未", "未曾", "不会", "不是", "没")


def stem(word: str) -> str:
    """A light suffix stripper: enough to make inflections meet, not a linguist's root."""
    word = word.split("'")[0] if word.endswith("'s") else word
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word[-2] in "su":  # harass, status: not plurals
                break
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":  # stopped -> stop
        word = word[:-1]
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


STEMS: dict[str, str] = {}
"""Each word's stem once computed; the vocabulary of complaints is small."""
STEM_CACHE = 200_000


def english_words(text: str) -> list[str]:
    """The stems of `text`'s English words, in order (`text` already lower-cased)."""
    words = WORD.findall(text)
    if len(STEMS) < STEM_CACHE:
        STEMS.update((word, stem(word)) for word in set(words).difference(STEMS))
        return list(map(STEMS.__getitem__, words))
    return [STEMS.get(word) or stem(word) for word in words]


def is_chinese(text: str) -> bool:
    return bool(CJK.search(text))


@dataclass(frozen=True)
class Hit:
    phrase: str
    labels: tuple[str, ...]
    negated: bool


class Lexicon:
    """Phrases, each with the labels it stands for; finds them in a text as words.

    A phrase with no labels is a shield: it is matched only to keep a shorter phrase inside it
    from being read (联名卡 shields 联名).
    """

    def __init__(self, entries: Iterable[tuple[str, Iterable[str]]]) -> None:
        labels: dict[str, list[str]] = {}
        for phrase, tags in entries:
            key = phrase.lower().strip()
            labels.setdefault(key, [])
            labels[key] += [tag for tag in tags if tag not in labels[key]]
        self.labels = {phrase: tuple(tags) for phrase, tags in labels.items()}
        chinese = sorted((p for p in self.labels if is_chinese(p)), key=len, reverse=True)
        self.chinese = re.compile("|".join(map(re.escape, chinese))) if chinese else None
        self.english: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrase in self.labels:
            if not is_chinese(phrase):
                stems = tuple(english_words(phrase))
                if stems:
                    self.english.setdefault(stems[0], []).append((stems, phrase))
        for candidates in self.english.values():
            candidates.sort(key=lambda entry: len(entry[0]), reverse=True)

    def find(self, text: str, words: list[str] | None = None) -> Iterator[Hit]:
        """Every phrase of the lexicon in `text` (lower-cased), longest first where they overlap."""
        if self.chinese is not None and is_chinese(text):
            for match in self.chinese.finditer(text):
                before = text[max(0, match.start() - 3): match.start()]
                yield Hit(match.group(), self.labels[match.group()], any(n in before for n in CHINESE_NEGATIONS))
        words = english_words(text) if words is None else words
        skip_to = 0
        starts = self.english
        for i in [i for i, word in enumerate(words) if word in starts]:
            if i < skip_to:
                continue
            word = words[i]
            for stems, phrase in self.english[word]:
                if tuple(words[i: i + len(stems)]) == stems:
                    before = words[max(0, i - 3): i]
                    negated = any(w in ENGLISH_NEGATIONS or w.endswith("n't") for w in before)
                    yield Hit(phrase, self.labels[phrase], negated)
                    skip_to = i + len(stems)
                    break
