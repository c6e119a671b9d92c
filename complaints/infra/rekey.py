"""Moving sealed personal data to the newest key (`complaints db reencrypt`).

After a rotation, rows and evidence files sealed under an older key stay readable while that
key is listed; re-sealing them under the current key is what lets the older key be retired.
Work goes in batches, each its own transaction, so a large archive is not locked for the
whole run and a run that stops is simply run again: rows already under the current key are
skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import column, func, select, table, update

from .archive import Archive
from .evidence import EvidenceStore, open_file, seal_file
from .schema import evidence

SEALED = ("subject", "content", "requested_remedy", "complainant_name", "complainant_phone", "complainant_email",
          "complainant_id_number", "customer_id")
HASHED = {"complainant_phone_hash": "complainant_phone", "complainant_id_number_hash": "complainant_id_number",
          "customer_id_hash": "customer_id"}
_RAW = table("complaints", column("complaint_id"), *(column(c) for c in (*SEALED, *HASHED)))


@dataclass
class Progress:
    what: str
    done: int
    moved: int
    total: int


def reseal_rows(archive: Archive, batch: int = 500) -> Iterator[Progress]:
    """Re-seal complaint rows under the current key (hashes too), `batch` rows a transaction."""
    sealer = archive.sealer
    with archive.engine.connect() as db:
        total = db.execute(select(func.count()).select_from(_RAW)).scalar_one()
    after, done, moved = "", 0, 0
    while True:
        with archive.engine.begin() as tx:
            rows = tx.execute(select(_RAW).where(_RAW.c.complaint_id > after)
                              .order_by(_RAW.c.complaint_id).limit(batch)).mappings().all()
            for row in rows:
                keys = {sealer.key_of(row[c]) for c in SEALED if row[c] is not None}
                if keys <= {sealer.current_key_id}:
                    continue
                plain = {c: None if row[c] is None else sealer.open(row[c]) for c in SEALED}
                tx.execute(update(_RAW).where(_RAW.c.complaint_id == row["complaint_id"]).values(
                    {c: None if v is None else sealer.seal(v) for c, v in plain.items()}
                    | {h: sealer.digest(plain[c]) for h, c in HASHED.items()}))
                moved += 1
        if not rows:
            return
        after, done = rows[-1]["complaint_id"], done + len(rows)
        yield Progress("complaints", done, moved, total)


def reseal_files(archive: Archive, store: EvidenceStore, batch: int = 50) -> Iterator[Progress]:
    """Re-seal evidence files under the current key and record the key on their references."""
    keys, current = archive.sealer.keys, archive.sealer.current_key_id
    with archive.engine.connect() as db:
        stale = [r[0] for r in db.execute(select(evidence.c.sha256).where(evidence.c.key_id != current)
                                          .group_by(evidence.c.sha256).order_by(evidence.c.sha256))]
    for start in range(0, len(stale), batch):
        for sha256 in stale[start:start + batch]:
            sealed = store.get(sha256)
            if sealed is not None:
                store.put(sha256, seal_file(keys, open_file(keys, sealed, sha256), sha256)[1], replace=True)
            with archive.engine.begin() as tx:
                tx.execute(update(evidence).where(evidence.c.sha256 == sha256).values(key_id=current))
        done = min(start + batch, len(stale))
        yield Progress("evidence files", done, done, len(stale))
