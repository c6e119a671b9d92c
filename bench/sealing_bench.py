"""What sealing personal data costs: per field, per receipt written and read, per evidence file.

    python bench/sealing_bench.py                    # 2,000 receipts on SQLite, one 50 MB file
    python bench/sealing_bench.py --receipts 10000

Writes receipts into a fresh SQLite archive (every personal field sealed, three keyed hashes),
reads them back (every field opened), asks the duplicate lookup under a two-key ring, and
sniffs, seals, stores and opens one largest evidence file. Prints figures only; the tests hold
the correctness.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from sqlalchemy import create_engine  # noqa: E402

from complaints.domain.models import Intake, Record, Stage  # noqa: E402
from complaints.infra.archive import Archive  # noqa: E402
from complaints.infra.evidence import MAX_BYTES, Folder, digest, open_file, seal_file, sniff  # noqa: E402
from complaints.infra.migrations import upgrade  # noqa: E402
from complaints.infra.sealing import Sealer  # noqa: E402

KEYS = {"bench-2": os.urandom(32), "bench-1": os.urandom(32)}
AT = datetime(2026, 12, 1, tzinfo=timezone.utc)


def timed(label: str, n: int, work) -> None:  # noqa: ANN001 - a callable
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds / n * 1e6:10.1f} µs each ({n} in {seconds:.2f} s)")


def receipt(n: int) -> Record:
    intake = Intake.model_validate({
        "channel": "phone", "subject": "夜间催收", "content": "催收员凌晨两点打电话威胁我的家人。" * 20,
        "requested_remedy": "停止骚扰并道歉",
        "complainant": {"name": "韩梅梅", "phone": f"139{n:08d}", "email": f"p{n}@example.com",
                        "customer_id": f"CUST-{n}"}})
    return Record(complaint_id=f"B{n:07d}", seq=1, at=AT, actor="phone", kind="received", stage=Stage.receipt,
                  intake=intake, facts={"stage": "receipt"})


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--receipts", type=int, default=2000)
    n = args.parse_args().receipts
    sealer = Sealer(KEYS)
    text = "催收员凌晨两点打电话威胁我的家人。" * 20
    sealed = sealer.seal(text)
    timed("seal one field (340 bytes)", 10_000, lambda: [sealer.seal(text) for _ in range(10_000)])
    timed("open one field", 10_000, lambda: [sealer.open(sealed) for _ in range(10_000)])
    timed("keyed hash under two keys (lookup)", 10_000, lambda: [sealer.digests("13912345678") for _ in range(10_000)])

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/archive.db")
        upgrade(engine)
        archive = Archive(engine, KEYS)
        records = [receipt(i) for i in range(n)]
        timed("receipt written (8 fields sealed, 3 hashes)", n, lambda: [archive.write(r) for r in records])
        timed("complaint read (8 fields opened)", n, lambda: [archive.complaint(r.complaint_id) for r in records])
        lookups = records[:500]
        timed("duplicate lookup by phone, two keys", len(lookups),
              lambda: [archive.open_complaint_of("X", r.intake) for r in lookups])

        data = b"%PDF-1.7\n" + os.urandom(MAX_BYTES - 9)
        folder = Folder(Path(tmp) / "evidence")
        sha = digest(data)
        box: dict[str, bytes] = {}
        timed("50 MB file: sniff + SHA-256 + seal + store", 1,
              lambda: (sniff(data, "x.pdf"), folder.put(digest(data), seal_file(KEYS, data, sha)[1])))
        timed("50 MB file: read + open", 1, lambda: box.update(plain=open_file(KEYS, folder.get(sha), sha)))
        assert box["plain"] == data


if __name__ == "__main__":
    main()
