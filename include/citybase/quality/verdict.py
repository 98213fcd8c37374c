"""A gate verdict as stored on disk: what the publisher, the summary and the report read back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CRITICAL, WARNING = "critical", "warning"


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    severity: str
    why: str
    success: bool
    observed: str


@dataclass(frozen=True)
class GateVerdict:
    dataset: str
    passed: bool
    checked_at: str
    outcomes: tuple[ExpectationOutcome, ...]
    report: str  # path of the verdict JSON
    data_docs: str | None

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == CRITICAL]

    def reason(self) -> str:
        return "; ".join(f"{o.expectation}({o.column or ''}): {o.observed}" for o in self.blocking_failures)

    @classmethod
    def load(cls, path: Path) -> GateVerdict:
        document = json.loads(path.read_text("utf-8"))
        document["outcomes"] = tuple(ExpectationOutcome(**o) for o in document["outcomes"])
        return cls(**document)
