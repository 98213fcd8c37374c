"""What each department system's generator reports back to ``simulate``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SystemOutput:
    key: str  # "<department>/<system>", as in connectors/sources.yml
    location: str  # where the system is served: a SQLAlchemy URL, a folder of file drops, or an API base URL
    counts: dict[str, int]  # "<department>/<system>/<table>" -> records the system holds (defective ones included)
    defects: dict[str, int] = field(default_factory=dict)  # defect kind -> records carrying it
