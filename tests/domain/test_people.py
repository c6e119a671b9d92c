"""The people file (COMPLAINTS_PEOPLE_FILE): a good file read, each bad entry named with its field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from complaints.api.auth import ApiKeyError, parse_keys
from complaints.domain.models import ApproverRole
from complaints.domain.people import NotThePerson, People, on_behalf
from complaints.infra.settings import PROJECT_DIR, SettingError, people_of

DEMO = PROJECT_DIR / "deploy" / "people.demo.toml"

TEAMS = """
[teams.collection]
categories = ["collection.*"]
[teams.card]
categories = ["card.fraud", "card.*"]
"""


def person(**fields: object) -> str:
    entry = {"id": "h.zhang", "name": "张华", "email": "h.zhang@firm.example", "role": "handler",
             "team": "collection"} | fields
    lines = [f"{key} = {value!r}".replace("True", "true").replace("False", "false")
             for key, value in entry.items() if value is not None]
    return TEAMS + "[[people]]\n" + "\n".join(lines) + "\n"


def test_the_demo_file_has_a_handler_for_every_team_and_each_other_role() -> None:
    people = People.load(DEMO)
    for team in people.teams:
        assert people.members(team), f"team {team} has no handler"
    assert {p.role for p in people.people.values()} == {"handler", "manager", "emergency", "auditor"}
    assert {p.approver_role for p in people.people.values()} >= {ApproverRole.manager, ApproverRole.senior_manager}


def test_a_category_goes_to_the_first_team_whose_glob_matches() -> None:
    people = People.parse(person() + person(id="h.li", team="card").removeprefix(TEAMS))
    assert people.team_for("card.fraud").name == "card"
    assert people.team_for("collection.off_hours").name == "collection"
    assert people.team_for("service.fees") is None
    assert [p.id for p in people.members("card")] == ["h.li"]
    assert people.person("h.zhang").email == "h.zhang@firm.example"
    assert people.person("nobody") is None


def test_only_a_senior_manager_approves_as_senior_manager() -> None:
    people = People.parse(person(id="m.chen", role="manager", team=None)
                          + person(id="m.zhao", role="manager", team=None, senior=True).removeprefix(TEAMS))
    assert people.person("m.chen").approver_role == ApproverRole.manager
    assert people.person("m.zhao").approver_role == ApproverRole.senior_manager
    assert People.parse(person()).person("h.zhang").approver_role is None


@pytest.mark.parametrize(("text", "message"), [
    (person(id="H Zhang"), "people #1 (H Zhang): id must be lower-case"),
    (person(id="manager"), "people #1 (manager): id must not be a role's name"),
    (person(name=""), "people #1 (h.zhang): name is missing or empty"),
    (person(email="not-an-address"), "people #1 (h.zhang): email is not an e-mail address"),
    (person(role="boss"), "people #1 (h.zhang): role must be one of"),
    (person(team="loans"), "people #1 (h.zhang): team 'loans' is not one of the [teams]"),
    (person(team=None), "people #1 (h.zhang): team is required for a handler"),
    (person(senior=True), "people #1 (h.zhang): senior is only for a manager"),
    (person(phone="123"), "people #1 (h.zhang): unknown field 'phone'"),
    (person() + person().removeprefix(TEAMS), "people #2 (h.zhang): id is already used"),
    (TEAMS.replace('"card.*"', '"cards.*"'), "teams.card.categories: 'cards.*' matches no category"),
    (TEAMS.replace('["collection.*"]', "[]"), "teams.collection.categories: must be a non-empty list"),
    ("[team.card]\ncategories = []", "unknown key 'team'"),
    ("[[people]\n", "not valid TOML"),
])
def test_a_bad_entry_is_named_with_its_field(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^people file: .*" + re.escape(message)):
        People.parse(text)


def test_a_setting_naming_a_missing_or_bad_file_says_which_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="COMPLAINTS_PEOPLE_FILE: people file .*cannot read"):
        people_of(str(tmp_path / "missing.toml"))
    bad = tmp_path / "people.toml"
    bad.write_text(person(role="boss"), encoding="utf-8")
    with pytest.raises(SettingError, match=r"COMPLAINTS_PEOPLE_FILE: people file .*people #1 \(h.zhang\): role"):
        people_of(str(bad))
    assert people_of(None) is None


def test_a_key_binds_a_person_or_a_bare_role() -> None:
    people = People.parse(person())
    keys = parse_keys("k1:h.zhang,k2:channel", people)
    assert (keys["k1"].role, keys["k1"].person_id, keys["k1"].name) == ("handler", "h.zhang", "h.zhang")
    assert (keys["k2"].role, keys["k2"].person_id) == ("channel", None)
    with pytest.raises(ApiKeyError, match="needs COMPLAINTS_PEOPLE_FILE"):
        parse_keys("k1:h.zhang")
    with pytest.raises(ApiKeyError, match="or key:<person id>"):
        parse_keys("k1:h.nobody", people)


STAFF = People.parse(person() + person(id="h.li").removeprefix(TEAMS)
                     + person(id="m.chen", role="manager", team=None).removeprefix(TEAMS)
                     + person(id="d.sun", role="manager", team=None, senior=True).removeprefix(TEAMS))
EXTEND = {"handler": "h.zhang", "approver": "m.chen", "approver_role": "manager", "reason": "r", "days": 5}


def test_a_payload_is_filled_with_the_person_or_refused_naming_the_field() -> None:
    zhang, chen = STAFF.person("h.zhang"), STAFF.person("m.chen")
    assert on_behalf(STAFF, zhang, "resume", {}) == {"handler": "h.zhang"}
    assert on_behalf(STAFF, zhang, "resume", {"handler": "h.zhang"}) == {"handler": "h.zhang"}
    assert on_behalf(STAFF, chen, "assign", {"handler": "h.li"}) == {"handler": "h.li", "by": "m.chen"}
    assert on_behalf(STAFF, chen, "escalate", {"reason": "r"}) == {"reason": "r", "by": "m.chen"}
    for action, payload, field in (("resume", {"handler": "h.li"}, "handler"), ("assign", {"by": "d.sun"}, "by"),
                                   ("acknowledge", {"lead": "e.wu"}, "lead")):
        who = chen if action == "assign" else zhang
        with pytest.raises(NotThePerson, match=f"^{field}: must be {who.id}, the person this key belongs to"):
            on_behalf(STAFF, who, action, payload)
    with pytest.raises(NotThePerson, match="^handler: is not a handler"):
        on_behalf(STAFF, chen, "assign", {"handler": "d.sun"})


def test_an_approver_must_be_a_manager_and_only_a_senior_one_approves_as_senior_manager() -> None:
    zhang = STAFF.person("h.zhang")
    assert on_behalf(STAFF, zhang, "extend", EXTEND) == EXTEND
    senior = {**EXTEND, "approver": "d.sun", "approver_role": "senior_manager"}
    assert on_behalf(STAFF, zhang, "extend", senior) == senior
    assert on_behalf(STAFF, zhang, "extend", {**senior, "approver_role": "manager"})["approver"] == "d.sun"
    with pytest.raises(NotThePerson, match="^approver_role: m.chen is a manager, not a senior manager"):
        on_behalf(STAFF, zhang, "extend", {**EXTEND, "approver_role": "senior_manager"})
    with pytest.raises(NotThePerson, match="^approver: is not a manager"):
        on_behalf(STAFF, zhang, "extend", {**EXTEND, "approver": "h.li"})
