"""The report of one import: counts, row-level errors, timing."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# A file of 3 million bad rows must not produce a 3-million-entry report in memory or in
# the batch row: the first errors are kept, the rest are only counted.
MAX_ERRORS_KEPT = 10_000


@dataclass
class ImportSummary:
    """What an import did.

    new_cases     cases created (one per accepted row)
    new_people    people created (new_cases minus the cases attached to someone already known)
    updated       new cases attached to a person already in the registry (same phone,
                  similar name, age ±2): "new case for a known person"
    duplicates    rows whose SRF ID is already a case in the district (re-sent results;
                  at most blank fields of the stored case were filled)
    rows_in_error rows refused, each with {row, reason} in `errors`
    unplaced      accepted rows whose address could not be placed on the map
    possible_duplicates  new people queued for review as maybe someone already known

    rows_total = new_cases + duplicates + rows_in_error.
    """

    rows_total: int = 0
    new_cases: int = 0
    new_people: int = 0
    updated: int = 0
    duplicates: int = 0
    rows_in_error: int = 0
    unplaced: int = 0
    possible_duplicates: int = 0
    households: int = 0
    seconds: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_not_listed: int = 0
    encoding: str = ""
    header_row: int = 0
    batch_id: int | None = None
    failure: str = ""

    def add_error(self, row: int, reason: str) -> None:
        self.rows_in_error += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"row": row, "reason": str(reason)})
        else:
            self.errors_not_listed += 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        return out

    def counts(self) -> dict[str, Any]:
        """The summary without the error list (for the audit row and the batch's `summary`)."""
        out = self.to_dict()
        out.pop("errors")
        return out
