"""Start one complaint: `python starter.py --file FILE` (JSON intake body; `-` reads stdin).

Prints the complaint id as the last line of its output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from pydantic import ValidationError

from complaints.domain.models import Intake, explain
from complaints.infra.archive import Archive
from complaints.infra.db import engine_for
from complaints.infra.settings import Settings
from complaints.infra.temporal import connect
from complaints.intake import IntakeRefused, file_complaint


def read_intake(path: str) -> Intake:
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    return Intake.model_validate(json.loads(text))


async def start(intake: Intake) -> str:
    settings = Settings.from_env()
    client = await connect(settings)
    filed = await file_complaint(client, settings.task_queue, intake, Archive(engine_for(settings.db_url)))
    if not filed.created:
        print(f"already filed: {filed.workflow_id}")
    return filed.complaint_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True, help="JSON file with the intake body, or - for standard input")
    args = parser.parse_args(argv)
    try:
        intake = read_intake(args.file)
    except (OSError, json.JSONDecodeError) as err:
        print(f"cannot read {args.file}: {err}", file=sys.stderr)
        return 2
    except ValidationError as err:
        print(f"intake refused: {explain(err)}", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(start(intake)))
    except IntakeRefused as err:
        print(f"intake refused: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # see TEMPORAL-NOTES: the SDK's threads can crash a plain interpreter exit
