"""The contract test's long run: schemathesis over every documented operation, as each role.

    python bench/contract.py                          # 1,000 fuzzed examples per operation, every role
    python bench/contract.py --examples 100 --role handler
    python bench/contract.py --operations 'evidence|/case'   # only the operations matching a regex

The same run as `tests/integration/test_api_contract.py` (`tests/integration/contract.py`:
the real app on a free port, a worker, a dev server of its own), with `--examples` fuzzed cases
per operation, the documented examples and the whole coverage phase, for every role. Prints
the cases generated and the failures found per role, and each failure; exits 1 if any.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from complaints.infra import logging as logs  # noqa: E402
from tests.conftest import TEST_KEY, binary  # noqa: E402
from tests.integration.contract import ROLE_KEYS, run, served  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="fuzzed cases per operation (default 1000)")
    parser.add_argument("--role", action="append", choices=list(ROLE_KEYS), help="only this role (repeatable)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--operations", help="only operations whose `METHOD /path` matches this regex")
    args = parser.parse_args()
    logs.configure()
    failed = 0
    with tempfile.TemporaryDirectory() as folder, served(binary("temporal"), Path(folder), TEST_KEY) as url:
        print(f"{'role':<10} {'cases':>8} {'failures':>8} {'seconds':>8}", flush=True)
        for role in args.role or ROLE_KEYS:
            started = time.perf_counter()
            tally = run(url, role, args.examples, operations=args.operations, seed=args.seed)
            print(f"{role:<10} {tally.cases:>8} {len(tally.failures):>8} {time.perf_counter() - started:>8.0f}",
                  flush=True)
            for failure in tally.failures:
                print(f"  {failure}", flush=True)
            failed += len(tally.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
