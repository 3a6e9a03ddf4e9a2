"""Pydantic input model of an allocation problem (mirrors the JSON the CLI reads)."""

from __future__ import annotations

import math
import re
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .curves import CurveSpec
from .errors import AllocationError


# Money amounts (budget, spends, bounds) above this are input errors, not budgets: at 1e12 the cent splitting
# still has exact integers (1e14 cents < 2**53), while 1e308 overflows sums and leaves "solutions" that break
# the budget constraint by orders of magnitude.
MAX_AMOUNT = 1e12


def _check_finite(name: str, value: float | None, *, nonnegative: bool = True) -> float | None:
    """None passes (optional field); otherwise finite, at most MAX_AMOUNT in size and, for spends and budgets, >= 0."""
    if value is None:
        return value
    if not math.isfinite(value) or (nonnegative and value < 0):
        need = "a finite number >= 0" if nonnegative else "a finite number"
        raise ValueError(f"'{name}' must be {need}, got {value!r}")
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"'{name}' is {value:g}; amounts may be at most {MAX_AMOUNT:g} (check the unit: one currency unit, not cents of cents)")
    return value


class ChannelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    curve: CurveSpec
    current_spend: float = Field(description="spend now, same unit as the budget")
    min: float = Field(0.0, description="lowest spend allowed")
    max: float | None = Field(None, description="highest spend allowed; None means no cap")
    locked: bool = Field(False, description="spend stays at current_spend")
    observed_min: float | None = Field(None, description="lowest spend the curve was fitted on")
    observed_max: float | None = Field(None, description="highest spend the curve was fitted on")
    scenarios: list[CurveSpec] | None = Field(
        None, description="alternative curves (e.g. bootstrap samples), one per scenario"
    )

    @field_validator("current_spend", "min", "max", "observed_min", "observed_max", mode="after")
    @classmethod
    def _finite(cls, value: float | None, info: Any) -> float | None:
        return _check_finite(info.field_name, value)

    @model_validator(mode="after")
    def _consistent(self) -> "ChannelSpec":
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} > max {self.max:g}; make min <= max")
        if self.observed_min is not None and self.observed_max is not None and self.observed_min > self.observed_max:
            raise ValueError("observed_min > observed_max; swap them")
        if self.locked and not (self.min <= self.current_spend <= (math.inf if self.max is None else self.max)):
            raise ValueError(
                f"locked at current_spend {self.current_spend:g}, outside its [min, max] = "
                f"[{self.min:g}, {self.max if self.max is not None else 'inf'}]; unlock it or fix the bounds"
            )
        if self.scenarios is not None and not self.scenarios:
            raise ValueError("'scenarios' is empty; omit it or give at least one curve")
        return self


class AllocationProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget: float = Field(description="total spend to allocate, >= 0")
    budget_mode: Literal["exact", "at_most"] = "exact"
    objective: Literal["revenue", "conversions", "profit"] = "revenue"
    max_change: float | None = Field(
        None, gt=0, description="max move per channel as a fraction of its (budget-scaled) current spend"
    )
    max_change_basis: Literal["scaled_current", "current"] = Field(
        "scaled_current",
        description=(
            "'scaled_current': the +-max_change band is around current spend rescaled so the "
            "unlocked channels add up to the new budget (the mix may move by max_change); "
            "'current': around current spend as is"
        ),
    )
    min_roas: float | None = Field(None, gt=0, description="predicted outcome >= min_roas * total spend")
    risk: Literal["mean", "cvar"] = "mean"
    cvar_alpha: float = Field(0.1, gt=0, le=1, description="CVaR tail fraction (0.1 = worst 10% of scenarios)")
    gap_tolerance: float = Field(1e-6, gt=0, lt=1, description="relative optimality gap accepted as optimal")
    channels: list[ChannelSpec] = Field(min_length=1)

    @field_validator("budget", "max_change", "min_roas", mode="after")  # each at most MAX_AMOUNT
    @classmethod
    def _finite(cls, value: float | None, info: Any) -> float | None:
        return _check_finite(info.field_name, value)

    @model_validator(mode="after")
    def _consistent(self) -> "AllocationProblem":
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate channel names {dupes}; names must be unique")
        counts = {c.name: len(c.scenarios) for c in self.channels if c.scenarios}
        if len(set(counts.values())) > 1:
            raise ValueError(f"channels give different numbers of scenarios {counts}; give each the same count")
        if self.risk == "cvar" and not counts:
            raise ValueError("risk 'cvar' needs 'scenarios' on at least one channel")
        return self

    @property
    def scenario_count(self) -> int:
        return max((len(c.scenarios) for c in self.channels if c.scenarios), default=0)


def _describe_loc(loc: tuple[Any, ...], data: Any) -> str:
    """channels.1.curve -> "channels[1] ('search').curve" using the raw input for the name."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            try:
                node = node[item]
                if isinstance(node, Mapping) and "name" in node:
                    label += f" ({node['name']!r})"
            except (TypeError, IndexError, KeyError):
                node = None
            parts.append(label)
        else:
            # union tags and validator wrappers pydantic puts in the path say nothing to a user
            if item in ("exponential", "hill", "log") or str(item).startswith(("function-", "tagged-union")):
                continue
            parts.append(("." if parts else "") + str(item))
            try:
                node = node[item] if isinstance(node, Mapping) else None
            except KeyError:
                node = None
    return "".join(parts) or "input"


def format_validation_error(error: ValidationError, data: Any = None) -> str:
    lines = []
    for err in error.errors():
        msg = re.sub(r"^(Value error|Assertion failed), ", "", err["msg"])
        lines.append(f"{_describe_loc(tuple(err['loc']), data)}: {msg}")
    return "invalid allocation problem: " + "; ".join(lines)


def parse_problem(data: Mapping[str, Any] | AllocationProblem) -> AllocationProblem:
    """Validate raw JSON-like input; every problem becomes an AllocationError."""
    if isinstance(data, AllocationProblem):
        return data
    try:
        return AllocationProblem.model_validate(data)
    except ValidationError as exc:
        raise AllocationError(format_validation_error(exc, data)) from exc
