"""What every stopping design reports: its current status against observed data."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

DesignKind = Literal["bayes", "pocock", "boin", "3+3", "simon"]


class BoundaryStatus(BaseModel):
    """One design's verdict on the observed counts; stored by the monitoring cycle with the rule version.

    `events` are toxicity events (bayes, pocock), DLTs at the current dose (boin, 3+3) or
    progression-free subjects (simon). `events_to_stop` is, for the toxicity designs, the fewest further
    events that cross the boundary at some look still reachable (0 when crossed); for simon it is how many more progression-free
    subjects are needed to avoid the futility boundary (0 when already safe from it).
    """

    model_config = ConfigDict(frozen=True)

    design_id: str
    design_version: str
    design: DesignKind
    events: int
    n: int
    boundary: int | None
    crossed: bool
    events_to_stop: int | None
    decision: str
    message: str


def check_counts(events: int, n: int, n_max: int | None = None) -> None:
    """Reject impossible observed counts before any design reads them."""
    if n < 0 or events < 0:
        raise ValueError(f"counts must be non-negative (events={events}, n={n})")
    if events > n:
        raise ValueError(f"events ({events}) cannot exceed evaluable subjects ({n})")
    if n_max is not None and n > n_max:
        raise ValueError(f"n={n} exceeds the design's maximum of {n_max} subjects")
