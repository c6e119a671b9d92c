"""The interim measure: suspend collection contact with the customer until the complaint closes."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from complaints.infra.archive import Archive


class CollectionContact:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @activity.defn
    def suspend_collection_contact(self, complaint_id: str, customer_key: str, at: datetime) -> None:
        self.archive.suspend_contact(complaint_id, customer_key, at)

    @activity.defn
    def lift_collection_contact(self, complaint_id: str, at: datetime) -> None:
        self.archive.lift_contact(complaint_id, at)
