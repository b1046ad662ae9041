"""Scenario policies: which events and measurements fail a playback scenario, and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.events import EVENT_TYPES, Event


class EventRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_count: int = Field(0, ge=0, description="events of this type allowed before the scenario fails")
    min_duration_s: float = Field(0.0, ge=0, description="shorter events are not counted")


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max: float | None = None
    min: float | None = None
    unit: str = ""


class Policy(BaseModel):
    """Thresholds per event type and limits per measurement; defaults allow no defect at all.

    Override per suite with `Policy().with_rules(black_frames={"max_count": 1})` or
    `with_limits(startup_time_s={"max": 5})`.
    """

    model_config = ConfigDict(extra="forbid")
    rules: dict[str, EventRule] = Field(default_factory=lambda: {t: EventRule() for t in EVENT_TYPES})
    limits: dict[str, Limit] = Field(
        default_factory=lambda: {
            # A viewer gives up on a title that takes long to start; 3 s is a common OTT start-up budget.
            "startup_time_s": Limit(max=3.0, unit="s"),
            # ITU-R BT.1359 detectability: sound 45 ms early (-45 here) to 125 ms late (+125 here).
            "av_offset_ms": Limit(min=-45.0, max=125.0, unit="ms"),
            "av_offset_max_abs_ms": Limit(max=125.0, unit="ms"),
            # A clean player at the capture's own rate shows every title frame exactly once.
            "frames_dropped": Limit(max=0),
            "frames_repeated": Limit(max=0),
            "frames_out_of_order": Limit(max=0),
            # Seeking: the first picture after a seek lands within half a second of the requested
            # position, within 2 s of the key press.
            "seek_error_s": Limit(max=0.5, unit="s"),
            "seek_time_s": Limit(max=2.0, unit="s"),
        }
    )

    def with_rules(self, **rules: dict[str, Any] | EventRule) -> Policy:
        new = self.model_copy(deep=True)
        for k, v in rules.items():
            if k not in EVENT_TYPES:
                raise ValueError(f"unknown event type {k!r}; known: {', '.join(EVENT_TYPES)}")
            new.rules[k] = v if isinstance(v, EventRule) else EventRule(**{**new.rules[k].model_dump(), **v})
        return new

    def with_limits(self, **limits: dict[str, Any] | Limit) -> Policy:
        new = self.model_copy(deep=True)
        for k, v in limits.items():
            new.limits[k] = v if isinstance(v, Limit) else Limit(**v)
        return new


@dataclass
class Window:
    """A span of the capture where some events are expected (a pause, a seek) and not counted."""

    start_s: float
    end_s: float
    reason: str
    types: tuple[str, ...] = ()  # empty: every type

    def covers(self, e: Event, tolerance_s: float = 0.1) -> bool:
        return (
            (not self.types or e.type in self.types)
            and e.start_s >= self.start_s - tolerance_s
            and e.end_s <= self.end_s + tolerance_s
        )


@dataclass
class Verdict:
    passed: bool
    failures: list[str] = field(default_factory=list)
    counted: list[Event] = field(default_factory=list)
    excused: list[tuple[Event, str]] = field(default_factory=list)

    def summary(self) -> str:
        if self.passed:
            return "pass"
        return "; ".join(self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": "pass" if self.passed else "fail",
            "failures": self.failures,
            "counted": [e.to_dict() for e in self.counted],
            "excused": [{"event": e.to_dict(), "reason": r} for e, r in self.excused],
        }


def describe_event(e: Event, title_time: Callable[[float], float | None] | None = None) -> str:
    """One line for a counted event: its type, capture span, title position where the capture shows
    a reference title, and the detector's own short summary (`details["summary"]`) in brackets."""
    s = f"{e.type} at {e.start_s:.2f}-{e.end_s:.2f} s of the capture ({e.duration_s:.2f} s"
    if title_time is not None:
        a = title_time(e.start_s)
        if a is not None:
            s += f", title position {a:.2f} s"
    s += ")"
    summary = e.details.get("summary") if isinstance(e.details, dict) else None
    return s + f" [{summary}]" if isinstance(summary, str) and summary else s


def evaluate(
    events: list[Event],
    measurements: dict[str, float],
    policy: Policy,
    windows: list[Window] | None = None,
    title_time: Callable[[float], float | None] | None = None,
    where: dict[str, str] | None = None,
) -> Verdict:
    """`where` names, per measurement, what it counted (title frames, capture times); a failure of
    that measurement carries it after a colon."""
    v = Verdict(passed=True)
    by_type: dict[str, list[Event]] = {}
    for e in events:
        w = next((w for w in windows or [] if w.covers(e)), None)
        if w is not None:
            v.excused.append((e, w.reason))
            continue
        rule = policy.rules.get(e.type, EventRule())
        if e.duration_s < rule.min_duration_s:
            v.excused.append((e, f"shorter than {rule.min_duration_s} s"))
            continue
        by_type.setdefault(e.type, []).append(e)
    for t, evs in by_type.items():
        rule = policy.rules.get(t, EventRule())
        v.counted.extend(evs)
        if len(evs) > rule.max_count:
            v.passed = False
            for e in evs:
                v.failures.append(describe_event(e, title_time))
    for name, lim in policy.limits.items():
        if name not in measurements:
            continue
        x = measurements[name]
        u = f" {lim.unit}" if lim.unit else ""
        at = f": {where[name]}" if where and name in where else ""
        if lim.max is not None and x > lim.max:
            v.passed = False
            v.failures.append(f"{name} = {x:.3f}{u} exceeds the limit {lim.max}{u}{at}")
        if lim.min is not None and x < lim.min:
            v.passed = False
            v.failures.append(f"{name} = {x:.3f}{u} is below the limit {lim.min}{u}{at}")
    return v
