"""The firm's people (`COMPLAINTS_PEOPLE_FILE`, contract section 7): who may act as whom.

TOML: `[teams.<name>] categories = [globs]` (the categories the team takes, matched against
`Category` values such as `collection.abusive`), then `[[people]]` with `id`, `name`, `email`,
`role` (one of `Role`), `team` (required for handlers) and, for a manager who may approve a
second extension, `senior = true` (approves as `senior_manager`). With such a file an API key
is bound to a person, and the acting handler, approver, manager and lead come from that person
instead of a name typed in the body.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, get_args

from complaints.domain.models import ApproverRole, Category, Role

ROLES: tuple[str, ...] = get_args(Role)
PERSON_ID = re.compile(r"[a-z0-9._-]+")
PERSON_KEYS = {"id", "name", "email", "role", "team", "senior"}


@dataclass(frozen=True)
class Team:
    name: str
    categories: tuple[str, ...]
    """Glob patterns over category values (`collection.*`), in the file's order."""

    def takes(self, category: str) -> bool:
        return any(fnmatchcase(category, pattern) for pattern in self.categories)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    role: str
    team: str | None = None
    senior: bool = False
    """A senior manager: approves extensions as `senior_manager` (a second extension, to 60 days)."""

    @property
    def approver_role(self) -> ApproverRole | None:
        """The `approver_role` this person may approve extensions as; None: not an approver."""
        if self.role != "manager":
            return None
        return ApproverRole.senior_manager if self.senior else ApproverRole.manager


@dataclass(frozen=True)
class People:
    teams: dict[str, Team] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> People:
        """The people of the file at `path`; a ValueError names the file, entry and field at fault."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"people file {path}: cannot read ({err.strerror})") from None
        return cls.parse(text, source=f"people file {path}")

    @classmethod
    def parse(cls, text: str, source: str = "people file") -> People:
        """The people of a TOML text; a ValueError names the entry and field at fault."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{source}: not valid TOML ({err})") from None
        unknown = set(data) - {"teams", "people"}
        if unknown:
            raise ValueError(f"{source}: unknown key {sorted(unknown)[0]!r} (expected [teams.<name>] and [[people]])")
        teams_table = data.get("teams", {})
        if not isinstance(teams_table, dict):
            raise ValueError(f"{source}: teams must be a table of [teams.<name>]")
        teams = {name: _team(source, name, entry) for name, entry in teams_table.items()}
        entries = data.get("people", [])
        if not isinstance(entries, list):
            raise ValueError(f"{source}: people must be an array of [[people]] tables")
        people: dict[str, Person] = {}
        for number, entry in enumerate(entries, start=1):
            person = _person(source, number, entry, teams)
            if person.id in people:
                raise ValueError(f"{source}: people #{number} ({person.id}): id is already used by another person")
            people[person.id] = person
        return cls(teams, people)

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def team_for(self, category: str) -> Team | None:
        """The first team (in the file's order) whose globs match `category`; None: no team takes it."""
        return next((team for team in self.teams.values() if team.takes(category)), None)

    def members(self, team: str) -> list[Person]:
        """The handlers of `team`, in the file's order: the people a complaint of the team can be assigned to."""
        return [p for p in self.people.values() if p.team == team and p.role == "handler"]


def _team(source: str, name: str, entry: Any) -> Team:
    where = f"{source}: teams.{name}"
    if not isinstance(entry, dict) or set(entry) - {"categories"}:
        raise ValueError(f"{where}: a team has only categories = [glob patterns]")
    globs = entry.get("categories")
    if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and g for g in globs):
        raise ValueError(f"{where}.categories: must be a non-empty list of glob patterns such as \"collection.*\"")
    for pattern in globs:
        if not any(fnmatchcase(category.value, pattern) for category in Category):
            raise ValueError(f"{where}.categories: {pattern!r} matches no category")
    return Team(name, tuple(globs))


def _person(source: str, number: int, entry: Any, teams: dict[str, Team]) -> Person:
    if not isinstance(entry, dict):
        raise ValueError(f"{source}: people #{number}: must be a [[people]] table")
    where = f"{source}: people #{number}" + (f" ({entry['id']})" if isinstance(entry.get("id"), str) else "")
    unknown = set(entry) - PERSON_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown field {sorted(unknown)[0]!r} (fields: {', '.join(sorted(PERSON_KEYS))})")
    for key in ("id", "name", "email", "role"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ValueError(f"{where}: {key} is missing or empty")
    if not PERSON_ID.fullmatch(entry["id"]):
        raise ValueError(f"{where}: id must be lower-case letters, digits, '.', '_' or '-'")
    if entry["id"] in ROLES or entry["id"] == "me":
        raise ValueError(f"{where}: id must not be a role's name nor `me` (key:<role> lines and handler=me name those)")
    local, at, domain = entry["email"].partition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in entry["email"]):
        raise ValueError(f"{where}: email is not an e-mail address")
    if entry["role"] not in ROLES:
        raise ValueError(f"{where}: role must be one of {', '.join(ROLES)}")
    team = entry.get("team")
    if team is not None and team not in teams:
        raise ValueError(f"{where}: team {team!r} is not one of the [teams] ({', '.join(teams) or 'none'})")
    if entry["role"] == "handler" and team is None:
        raise ValueError(f"{where}: team is required for a handler")
    senior = entry.get("senior", False)
    if not isinstance(senior, bool):
        raise ValueError(f"{where}: senior must be true or false")
    if senior and entry["role"] != "manager":
        raise ValueError(f"{where}: senior is only for a manager")
    return Person(entry["id"], entry["name"], entry["email"], entry["role"], team, senior)


ACTING_FIELD: dict[str, str] = {"assign": "by", "escalate": "by", "acknowledge": "lead"}
"""The payload field naming who sends each update or signal; every other one's is `handler`."""


class NotThePerson(PermissionError):
    """A payload that names someone the person may not act as or for (HTTP 403)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


def on_behalf(people: People, person: Person, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload `person` sends for `action`: the acting field (handler, by, lead) filled with the
    person's id or checked against it, an assignee checked to be a handler, an approver checked to
    be a manager who may approve as the `approver_role` given."""
    field = ACTING_FIELD.get(action, "handler")
    given = payload.get(field)
    if given is not None and given != person.id:
        raise NotThePerson(field, f"must be {person.id}, the person this key belongs to, or be left out")
    filled = {**payload, field: person.id}
    if action == "assign" and "handler" in filled:
        assignee = people.person(str(filled.get("handler")))
        if assignee is None or assignee.role != "handler":
            raise NotThePerson("handler", "is not a handler of the people file")
    if action == "extend" and "approver" in filled:
        approver = people.person(str(filled["approver"]))
        if approver is None or approver.approver_role is None:
            raise NotThePerson("approver", "is not a manager of the people file")
        wanted = filled.get("approver_role")
        if wanted == ApproverRole.senior_manager and approver.approver_role != ApproverRole.senior_manager:
            raise NotThePerson("approver_role", f"{approver.id} is a manager, not a senior manager "
                                                "(senior = true in the people file)")
    return filled
