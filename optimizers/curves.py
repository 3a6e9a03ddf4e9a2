"""Response-curve families, geometric adstock and the validated `CurveSpec` model.

Every curve maps (steady-state) daily spend to predicted outcome (revenue, or
conversions when the objective is conversions).  Parameters may be floats or
numpy arrays, so one object can hold many channels' curves and evaluate them in
one vectorised call -- that is what keeps the optimizer fast at 1,000 channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Protocol, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

Number = Union[float, np.ndarray]


class ResponseCurve(Protocol):
    """What the optimizer needs from a curve family."""

    family: ClassVar[str]

    def value(self, x: Number) -> np.ndarray: ...

    def derivative(self, x: Number) -> np.ndarray: ...

    def second_derivative(self, x: Number) -> np.ndarray: ...

    def inflection(self) -> np.ndarray: ...

    def params(self) -> dict[str, Number]: ...


def _arr(x: Number) -> np.ndarray:
    return np.asarray(x, dtype=float)


@dataclass(frozen=True)
class Exponential:
    """r(x) = a (1 - exp(-x/b)): concave, saturates at a; b is the spend scale."""

    a: Number
    b: Number
    family: ClassVar[str] = "exponential"

    def value(self, x: Number) -> np.ndarray:
        # expm1 keeps precision for x << b
        return -_arr(self.a) * np.expm1(-_arr(x) / self.b)

    def derivative(self, x: Number) -> np.ndarray:
        return (_arr(self.a) / self.b) * np.exp(-_arr(x) / self.b)

    def second_derivative(self, x: Number) -> np.ndarray:
        return -self.derivative(x) / self.b

    def inflection(self) -> np.ndarray:
        return np.zeros_like(_arr(self.a))

    def slope_inverse(self, slope: Number) -> np.ndarray:
        """Smallest x >= 0 with r'(x) <= slope (closed form; inf when slope <= 0)."""
        slope = _arr(slope)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = self.b * np.log(_arr(self.a) / (_arr(self.b) * slope))
        return np.where(slope <= 0, np.inf, np.maximum(x, 0.0))

    def params(self) -> dict[str, Number]:
        return {"a": self.a, "b": self.b}


@dataclass(frozen=True)
class Hill:
    """r(x) = a x^s / (x^s + k^s): concave when s <= 1, S-shaped when s > 1."""

    a: Number
    k: Number
    s: Number
    family: ClassVar[str] = "hill"

    def value(self, x: Number) -> np.ndarray:
        x = np.maximum(_arr(x), 0.0)  # x^s is undefined below 0; spend never is
        # a / (1 + (k/x)^s) avoids inf/inf at large x; x = 0 gives a/inf = 0
        with np.errstate(divide="ignore", over="ignore"):
            return _arr(self.a) / (1.0 + (self.k / x) ** _arr(self.s))

    def derivative(self, x: Number) -> np.ndarray:
        x = _arr(x)
        a, k, s = _arr(self.a), _arr(self.k), _arr(self.s)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            v = (k / x) ** s  # u/(1+u)^2 == v/(1+v)^2 with v = 1/u; stable for large x
            d = a * s * v / (x * (1.0 + v) ** 2)
            d = np.where(np.isfinite(v), d, 0.0 * d)  # v overflow: x tiny and s > 1 -> ~0
            at_zero = np.where(s > 1, 0.0, np.where(s == 1, a / k, np.inf))
        return np.where(x > 0, d, at_zero)

    def second_derivative(self, x: Number) -> np.ndarray:
        x = _arr(x)
        a, k, s = _arr(self.a), _arr(self.k), _arr(self.s)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            u = (x / k) ** s
            # r'' = r'/x * ((s-1) - 2 s u/(1+u))
            d2 = self.derivative(x) / x * ((s - 1.0) - 2.0 * s * u / (1.0 + u))
        d2 = np.nan_to_num(d2, nan=0.0)
        if np.all(x > 0):
            return d2
        # limits at x = 0 follow r'' ~ x^(s-2) near zero
        at_zero = np.select(
            [s > 2, s == 2, s > 1, s == 1], [0.0 * a, 2 * a / k**2, np.inf + 0 * a, -2 * a / k**2], -np.inf
        )
        return np.where(x > 0, d2, at_zero)

    def inflection(self) -> np.ndarray:
        """x where the S-curve turns from convex to concave (0 when s <= 1)."""
        s = _arr(self.s)
        with np.errstate(invalid="ignore"):
            x = _arr(self.k) * np.where(s > 1, (s - 1.0) / (s + 1.0), 0.0) ** (1.0 / s)
        return np.where(s > 1, x, 0.0)

    def params(self) -> dict[str, Number]:
        return {"a": self.a, "k": self.k, "s": self.s}


@dataclass(frozen=True)
class Log:
    """r(x) = a log(1 + x/b): concave, never saturates."""

    a: Number
    b: Number
    family: ClassVar[str] = "log"

    def value(self, x: Number) -> np.ndarray:
        return _arr(self.a) * np.log1p(_arr(x) / self.b)

    def derivative(self, x: Number) -> np.ndarray:
        return _arr(self.a) / (_arr(self.b) + _arr(x))

    def second_derivative(self, x: Number) -> np.ndarray:
        return -_arr(self.a) / (_arr(self.b) + _arr(x)) ** 2

    def inflection(self) -> np.ndarray:
        return np.zeros_like(_arr(self.a))

    def slope_inverse(self, slope: Number) -> np.ndarray:
        slope = _arr(slope)
        with np.errstate(divide="ignore"):
            x = _arr(self.a) / slope - self.b
        return np.where(slope <= 0, np.inf, np.maximum(x, 0.0))

    def params(self) -> dict[str, Number]:
        return {"a": self.a, "b": self.b}


CURVE_CLASSES: dict[str, type] = {"exponential": Exponential, "hill": Hill, "log": Log}


def adstock(spend: np.ndarray, decay: float, normalize: bool = True) -> np.ndarray:
    """Geometric adstock y_t = w x_t + decay * y_{t-1}, y_{-1} = 0.

    With `normalize` (default) w = 1 - decay, so a constant spend x settles at
    y = x: the fitted curve is then in daily-spend units, which is what the
    optimizer allocates.  With normalize=False, w = 1 (Robyn's convention).
    """
    if not (0.0 <= decay < 1.0) or not math.isfinite(decay):
        raise ValueError(f"adstock decay must be in [0, 1), got {decay!r}")
    spend = np.asarray(spend, dtype=float)
    if spend.ndim != 1:
        raise ValueError("adstock expects a 1-D spend series")
    weight = 1.0 - decay if normalize else 1.0
    from scipy.signal import lfilter  # scipy.signal costs about a second to import; only fitting needs it

    return lfilter([weight], [1.0, -decay], spend)


# ----------------------------------------------------------------------------
# Validated input model


class _CurveParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _finite_positive(cls, value: Any, info: Any) -> Any:
        if info.field_name == "family":
            return value
        if not math.isfinite(value) or value <= 0:
            raise ValueError(
                f"curve parameter '{info.field_name}' must be a finite number > 0, got {value!r}; "
                "refit the curve or supply a positive finite value"
            )
        return value

    def to_curve(self) -> ResponseCurve:
        params = self.model_dump(exclude={"family"})
        return CURVE_CLASSES[self.family](**params)  # type: ignore[attr-defined]


class ExponentialSpec(_CurveParams):
    family: Literal["exponential"]
    a: float = Field(description="saturation level (max outcome)")
    b: float = Field(description="spend scale: 63% of a is reached at x = b")


class HillSpec(_CurveParams):
    family: Literal["hill"]
    a: float = Field(description="saturation level")
    k: float = Field(description="half-saturation spend")
    s: float = Field(description="slope; > 1 makes the curve S-shaped")


class LogSpec(_CurveParams):
    family: Literal["log"]
    a: float = Field(description="scale")
    b: float = Field(description="spend scale")


_CurveUnion = Annotated[Union[ExponentialSpec, HillSpec, LogSpec], Field(discriminator="family")]


class CurveSpec(RootModel[_CurveUnion]):
    """One response curve as JSON: {"family": "exponential"|"hill"|"log", ...params}."""

    @model_validator(mode="before")
    @classmethod
    def _known_family(cls, data: Any) -> Any:
        # pydantic's own discriminator message is terse; say what to do instead
        if isinstance(data, dict):
            family = data.get("family")
            if family not in CURVE_CLASSES:
                raise ValueError(
                    f"field 'family' is {family!r}: unknown curve family; "
                    f"use one of {', '.join(sorted(CURVE_CLASSES))}"
                )
        return data

    @property
    def family(self) -> str:
        return self.root.family

    @property
    def is_concave(self) -> bool:
        return not (self.root.family == "hill" and self.root.s > 1)  # type: ignore[union-attr]

    def to_curve(self) -> ResponseCurve:
        return self.root.to_curve()
