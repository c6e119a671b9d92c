"""Who may read a complaint's case file, beyond what their role allows (contract section 7, issue 15).

With a people file, a handler reads the case files of their own team's complaints (the team that
takes the complaint's category), of the complaints they have handled, and of any complaint that is
still unassigned or has been escalated; of another team's complaints they see only the queue row
(stage, category, severity, deadlines: no personal data). Other roles, and every caller without a
people file, read as their role allows.
"""

from __future__ import annotations

from complaints.domain.people import People, Person


def may_read_case(person: Person | None, people: People | None, category: str | None, handlers: list[str],
                  escalated: bool) -> bool:
    if people is None or person is None or person.role != "handler":
        return True
    if escalated or not handlers or person.id in handlers:
        return True
    team = people.team_for(category) if category else None
    return team is None or team.name == person.team


def in_queue(person: Person | None, people: People | None, category: str | None, handler: str | None) -> bool:
    """Whether an open complaint is in `person`'s queue: for a handler with a people file, those they
    hold and those their team holds or takes; for everyone else, every open complaint."""
    if people is None or person is None or person.role != "handler":
        return True
    if handler == person.id:
        return True
    holder = people.person(handler) if handler else None
    team = people.team_for(category) if category else None
    return (holder is not None and holder.team == person.team) or (team is not None and team.name == person.team)
