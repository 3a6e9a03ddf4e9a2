"""What Ava takes (a goal, a budget, dates, segments, history) and what she hands back (a plan)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.ava.priors import DEFAULT_KPI
from campaigns.core.enums import MARKETING_CHANNELS, CampaignType

KPI = Literal["impressions", "clicks", "engagements", "conversions", "revenue", "roas"]
MAX_DAYS = 366


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: CampaignType
    kpi: KPI | None = Field(default=None, description="Defaults: AWARENESS impressions, ENGAGEMENT engagements, CONVERSION conversions.")
    target: float | None = Field(default=None, gt=0, description="The KPI value that counts as success.")

    @property
    def resolved_kpi(self) -> str:
        return self.kpi or DEFAULT_KPI[self.type]


class ChannelStats(BaseModel):
    """A channel's own rates from the merchant's history; any missing rate falls back to the prior."""

    model_config = ConfigDict(extra="forbid")

    cpm: float | None = Field(default=None, gt=0)
    ctr: float | None = Field(default=None, ge=0, le=1)
    cvr: float | None = Field(default=None, ge=0, le=1)
    engagement_rate: float | None = Field(default=None, ge=0, le=1)
    revenue_per_conversion: float | None = Field(default=None, ge=0)


class PlanHistory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    curves: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="channel -> response curve (optimizers CurveSpec JSON) of daily spend to daily outcome"
    )
    curve_outcome: Literal["revenue", "conversions"] = "revenue"
    observed_spend: dict[str, tuple[float, float]] = Field(default_factory=dict, description="channel -> (lowest, highest) daily spend the curve saw")
    channel_stats: dict[str, ChannelStats] = Field(default_factory=dict)
    best_hours: dict[str, list[int]] = Field(default_factory=dict, description="platform -> local hours from an optimal-time model")

    @field_validator("curves", "observed_spend", "channel_stats")
    @classmethod
    def _known_channels(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(MARKETING_CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; use {', '.join(MARKETING_CHANNELS)}")
        return value

    @field_validator("best_hours")
    @classmethod
    def _hours(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        for platform, hours in value.items():
            if not hours or any(not 0 <= h <= 23 for h in hours):
                raise ValueError(f"best_hours[{platform}] must list hours 0-23")
        return value


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    goal: Goal
    budget: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    start: date
    end: date
    timezone: str = "UTC"
    segments: list[str] = Field(default_factory=list)
    channels: list[str] | None = Field(default=None, description="Only these channels; default: every channel the goal's prior funds.")
    history: PlanHistory = Field(default_factory=PlanHistory)
    name: str | None = Field(default=None, max_length=200)
    variations: int = Field(default=2, ge=1, le=6, description="Content variants per format.")

    @field_validator("budget")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        return value.quantize(Decimal("0.01"))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))
        unknown = [v for v in cleaned if v not in MARKETING_CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; use {', '.join(MARKETING_CHANNELS)}")
        if not cleaned:
            raise ValueError("give at least one channel, or leave channels out")
        return cleaned

    @model_validator(mode="after")
    def _dates(self) -> PlanRequest:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start}); swap them")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise ValueError(f"the campaign runs {(self.end - self.start).days + 1} days; plan at most {MAX_DAYS} at a time")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class AllocationItem(BaseModel):
    channel: str
    amount: Decimal
    share: float
    daily: Decimal
    source: Literal["optimizer", "prior"]


class BudgetPlan(BaseModel):
    method: Literal["optimizer", "prior", "optimizer+prior"]
    total: Decimal
    currency: str
    items: list[AllocationItem]
    explanation: str
    optimizer: dict[str, Any] | None = None


class ChannelChoice(BaseModel):
    channel: str
    format: str
    reason: str


class Phase(BaseModel):
    name: str
    start: date
    end: date
    activities: list[str]


class Slot(BaseModel):
    format: str
    variant: int
    at: str  # UTC, ISO 8601
    local: str  # in the plan's time zone
    basis: str  # "optimal-time model" or "default best hours"


class Contingency(BaseModel):
    trigger: str
    condition: dict[str, Any]
    action: str
    automatic: Literal["rebalance", "escalate", "none"]


class Prediction(BaseModel):
    kpi: str
    target: float | None
    expected: float
    low: float
    high: float
    interval: float
    probability_of_target: float | None
    basis: str


class Plan(BaseModel):
    version: int = 1
    name: str
    goal: Goal
    kpi: str
    budget: Decimal
    currency: str
    start: date
    end: date
    days: int
    timezone: str
    segments: list[str]
    summary: str
    timeline: list[Phase]
    channels: list[ChannelChoice]
    budget_allocation: BudgetPlan
    schedule: list[Slot]
    contingencies: list[Contingency]
    prediction: Prediction
    content: dict[str, Any] | None = None
    engine: str = "offline"
    notes: list[str] = Field(default_factory=list)
    workflow: list[dict[str, Any]] = Field(default_factory=list)
    usage: dict[str, Any] = Field(default_factory=dict)
    history: PlanHistory = Field(default_factory=PlanHistory, description="The history the plan used, kept for rebalancing.")

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
