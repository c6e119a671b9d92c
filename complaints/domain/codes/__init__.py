"""The regulator's complaint codes (JR/T 0169-2018) and the proposals made from them.

The standard classifies every complaint on three axes: A where the business was done, B the
business type, C the cause. The code table is data (`jrt0169-2018.toml` beside this module),
so a firm loads its supervisor's full edition with `COMPLAINTS_CODES_FILE` without code; the
same file holds the one table that proposes a complaint's codes from the firm's own vocabulary
(channel, respondent, category). A table is checked whole when it loads, so a worker never
runs with a code it cannot report or a proposal that is not a leaf.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from complaints.domain.models import Category, Channel, Product, Respondent, RespondentKind

SHIPPED = Path(__file__).with_name("jrt0169-2018.toml")
AXES = ("A", "B", "C")
AXIS_NAMES = {"A": "投诉业务办理渠道 (channel of the business)", "B": "投诉业务类型 (business type)",
              "C": "投诉原因 (cause)"}


class CodeError(ValueError):
    """A code table that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Code:
    axis: str
    code: str
    parent: str | None
    name: str
    gloss: str


@dataclass(frozen=True)
class CodeTable:
    edition: str
    codes: dict[str, dict[str, Code]]
    """Axis -> code -> entry, in the file's order (a report lists them so)."""
    by_respondent: dict[str, str] = field(default_factory=dict)
    by_channel: dict[str, str] = field(default_factory=dict)
    by_category: dict[str, tuple[str, str]] = field(default_factory=dict)
    by_product: dict[str, str] = field(default_factory=dict)

    # --- reading ---------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> CodeTable:
        """The table in `path` (COMPLAINTS_CODES_FILE), or the shipped one when none is named."""
        source = Path(path) if path else SHIPPED
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except OSError as err:
            raise CodeError(f"COMPLAINTS_CODES_FILE: cannot read {source}: {err.strerror or err}") from None
        except tomllib.TOMLDecodeError as err:
            raise CodeError(f"COMPLAINTS_CODES_FILE: {source} is not valid TOML ({err})") from None
        base: dict[str, Any] = {}
        if "extends" in data:
            base = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
            if data["extends"] != base["edition"]:
                raise CodeError(f"{source}: extends: only {base['edition']!r} ships with complaintflow")
        try:
            return cls.from_mapping(_merged(base, data))
        except CodeError as err:
            raise CodeError(f"{source}: {err}") from None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> CodeTable:
        unknown = set(data) - {"edition", "extends", "proposals", *AXES}
        if unknown:
            raise CodeError(f"{sorted(unknown)[0]}: unknown key (expected edition, extends, A, B, C, [proposals])")
        codes: dict[str, dict[str, Code]] = {}
        for axis in AXES:
            codes[axis] = {}
            for i, entry in enumerate(data.get(axis, [])):
                code = _entry(axis, i, entry)
                if code.code in codes[axis]:
                    raise CodeError(f"{axis}.{code.code}: listed twice")
                codes[axis][code.code] = code
        proposals = data.get("proposals", {})
        table = cls(
            edition=str(data.get("edition", "")) or "unnamed edition",
            codes=codes,
            by_respondent=dict(proposals.get("respondent", {})),
            by_channel=dict(proposals.get("channel", {})),
            by_category={k: tuple(v) for k, v in proposals.get("category", {}).items()},  # type: ignore[misc]
            by_product=dict(proposals.get("product", {})),
        )
        table.check()
        return table

    def check(self) -> None:
        """Parents exist, an "other" leaf under every node, every proposal a leaf of its axis."""
        for axis, codes in self.codes.items():
            if not codes:
                raise CodeError(f"{axis}: no codes")
            for code in codes.values():
                if code.parent is not None and code.parent not in codes:
                    raise CodeError(f"{axis}.{code.code}: parent {code.parent} is not a code of axis {axis}")
            for node in [None, *codes]:
                children = self.children(axis, node)
                if children and not any(c.code == (node or "") + "99" or c.code == (node or "") + "9"
                                        for c in children):
                    where = f"{axis}.{node}" if node else axis
                    raise CodeError(f"{where}: no \"other\" leaf ({node or ''}99 or {node or ''}9) among its children")
        self._check_proposals("proposals.respondent", self.by_respondent, {k.value for k in RespondentKind}, "A",
                              complete=False)
        self._check_proposals("proposals.channel", self.by_channel, {c.value for c in Channel}, "A")
        for key, pair in self.by_category.items():
            if len(pair) != 2:
                raise CodeError(f"proposals.category.{key}: expected [B, C]")
        self._check_proposals("proposals.category", {k: v[0] for k, v in self.by_category.items()},
                              {c.value for c in Category}, "B")
        self._check_proposals("proposals.category", {k: v[1] for k, v in self.by_category.items()},
                              {c.value for c in Category}, "C")
        self._check_proposals("proposals.product", self.by_product, {p.value for p in Product}, "B", complete=False)

    def _check_proposals(self, where: str, proposed: dict[str, str], names: set[str], axis: str,
                         complete: bool = True) -> None:
        for key, code in proposed.items():
            if key not in names:
                raise CodeError(f"{where}.{key}: unknown (expected one of {', '.join(sorted(names))})")
            if not self.is_leaf(axis, code):
                raise CodeError(f"{where}.{key}: {code!r} is not a leaf code of axis {axis}")
        missing = sorted(names - set(proposed))
        if complete and missing:
            raise CodeError(f"{where}.{missing[0]}: missing")

    # --- asking ----------------------------------------------------------------------

    def children(self, axis: str, parent: str | None) -> list[Code]:
        return [c for c in self.codes[axis].values() if c.parent == parent]

    def is_leaf(self, axis: str, code: object) -> bool:
        return isinstance(code, str) and code in self.codes[axis] and not self.children(axis, code)

    def lineage(self, axis: str, code: str) -> list[str]:
        """The code and its ancestors, the code first; empty for a code the table lacks."""
        chain = []
        entry = self.codes[axis].get(code)
        while entry is not None:
            chain.append(entry.code)
            entry = self.codes[axis].get(entry.parent) if entry.parent else None
        return chain

    def refusal(self, field_name: str, code: str | None) -> str | None:
        """Why `code` cannot be set in field `code_a`/`code_b`/`code_c`, or None when it can."""
        axis = field_name[-1].upper()
        if code is None or self.is_leaf(axis, code):
            return None
        kind = "a heading, not a leaf code," if code in self.codes[axis] else "not in the code table"
        return f"{field_name}: {kind} of axis {axis} ({AXIS_NAMES[axis]}) of {self.edition}"

    def propose(self, channel: Channel, respondent: Respondent | None,
                category: Category | None, product: Product | None = None) -> dict[str, str]:
        """The codes the firm's vocabulary proposes: A from the respondent or else the channel,
        B and C from the category (none before there is one); a category that names no business
        type ("other", as for rude service) takes B from the product where the table maps it."""
        a = (respondent and self.by_respondent.get(respondent.kind.value)) or self.by_channel[channel.value]
        proposed = {"code_a": a}
        if category is not None:
            proposed["code_b"], proposed["code_c"] = self.by_category[category.value]
            if self.is_other(proposed["code_b"]) and product is not None and product.value in self.by_product:
                proposed["code_b"] = self.by_product[product.value]
        return proposed

    @staticmethod
    def is_other(code: str) -> bool:
        """A top-level "other" code: the business type is not known."""
        return code in ("99", "9")


def _entry(axis: str, i: int, entry: Any) -> Code:
    where = f"{axis}[{i}]"
    if not isinstance(entry, dict):
        raise CodeError(f"{where}: must be a table with code, name and gloss")
    unknown = set(entry) - {"code", "parent", "name", "gloss"}
    if unknown:
        raise CodeError(f"{where}.{sorted(unknown)[0]}: unknown key (expected code, parent, name, gloss)")
    code = entry.get("code")
    if not isinstance(code, str) or not code.isdigit() or len(code) > 12:
        raise CodeError(f"{where}.code: must be a string of 1 to 12 digits")
    for key in ("name", "gloss"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise CodeError(f"{axis}.{code}.{key}: missing")
    parent = entry.get("parent")
    if parent is not None and (not isinstance(parent, str) or not code.startswith(parent) or parent == code):
        raise CodeError(f"{axis}.{code}.parent: must be a shorter code that {code} begins with")
    return Code(axis, code, parent, entry["name"].strip(), entry["gloss"].strip())


def _merged(base: dict[str, Any], extension: dict[str, Any]) -> dict[str, Any]:
    """The shipped table with an extension's codes added (or redefined) and its proposals over the shipped ones."""
    if not base:
        return extension
    merged = {key: value for key, value in base.items() if key != "proposals"}
    for axis in AXES:  # an extension's entry of a shipped code redefines it
        own = extension.get(axis, [])
        redefined = {entry.get("code") for entry in own if isinstance(entry, dict)}
        merged[axis] = [entry for entry in base.get(axis, []) if entry["code"] not in redefined] + own
    merged["edition"] = extension.get("edition", base["edition"])
    proposals = {kind: dict(table) for kind, table in base.get("proposals", {}).items()}
    for kind, table in extension.get("proposals", {}).items():
        proposals.setdefault(kind, {}).update(table)
    merged["proposals"] = proposals
    for key in set(extension) - {"extends", "edition", "proposals", *AXES}:
        merged[key] = extension[key]  # refused by from_mapping, naming it
    return merged


_active: CodeTable = CodeTable.load()


def use(table: CodeTable) -> None:
    """Make `table` the process's code table (the worker, the API and the CLI call this at start
    with COMPLAINTS_CODES_FILE's table; until then the shipped one is in use)."""
    global _active
    _active = table


def active() -> CodeTable:
    return _active
