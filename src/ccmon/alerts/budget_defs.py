"""A budget from input and back: strict validation (`parse_budget`, ValueError naming the field), its JSON form
(`dump_budget`), and the scope fields budgets and model policies share (`parse_scope`).

What a budget means (pooled or per person, periods, projection) is `ccmon.alerts.budgets`' docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ccmon.alerts.fields import boolean, choice, required, slug
from ccmon.alerts.model import SCOPE_KINDS, Budget, Enforce, Period, Unit

DEFAULT_THRESHOLDS = (0.75, 0.9, 1.0)
MAX_THRESHOLD = 10.0
"""Thresholds are fractions of the amount, at most 10 (1,000 %); a larger number is a percentage given by mistake."""
MAX_AMOUNT = 1e15
ORGANIZATION = "organization"
_FIELDS = frozenset(
    {"id", "name", "scope", "scope_value", "period", "unit", "amount", "per_person", "thresholds", "enforce", "source"}
)


def parse_budget(data: Mapping[str, Any], source: str = "api") -> Budget:
    """A validated budget, or ValueError naming the field. A `source` key in `data` (as `GET /budgets` shows it) is
    accepted and ignored: the argument says where the budget comes from."""
    if not isinstance(data, Mapping):
        raise ValueError("budget: expected an object")
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise ValueError(f"unknown field {', '.join(unknown)}; fields are {', '.join(sorted(_FIELDS - {'source'}))}")
    budget_id = slug(required(data, "id"))
    scope, scope_value = parse_scope(data)
    return Budget(
        id=budget_id,
        name=_name(data.get("name", budget_id)),
        scope=scope,
        scope_value=scope_value,
        period=choice(required(data, "period"), "period", Period),
        unit=choice(data.get("unit", Unit.USD.value), "unit", Unit),
        amount=_amount(required(data, "amount")),
        per_person=boolean(data.get("per_person", False), "per_person"),
        thresholds=_thresholds(data.get("thresholds", list(DEFAULT_THRESHOLDS))),
        enforce=choice(data.get("enforce", Enforce.WARN.value), "enforce", Enforce),
        source=source,
    )


def dump_budget(budget: Budget) -> dict[str, Any]:
    """The budget as JSON, the shape `parse_budget` reads (without `source`)."""
    return {
        "id": budget.id,
        "name": budget.name,
        "scope": budget.scope,
        "scope_value": budget.scope_value,
        "period": budget.period.value,
        "unit": budget.unit.value,
        "amount": budget.amount,
        "per_person": budget.per_person,
        "thresholds": list(budget.thresholds),
        "enforce": budget.enforce.value,
    }


def parse_scope(data: Mapping[str, Any]) -> tuple[str, str]:
    """`scope` (one of `SCOPE_KINDS`) and `scope_value` (required but for the organisation, which takes none)."""
    scope = required(data, "scope")
    if scope not in SCOPE_KINDS:
        raise ValueError(f"scope: {scope!r} is not one of {', '.join(SCOPE_KINDS)}")
    value = data.get("scope_value", "")
    if not isinstance(value, str):
        raise ValueError("scope_value: expected a string")
    value = value.strip()
    if scope == ORGANIZATION and value:
        raise ValueError("scope_value: the organization scope takes no value (leave scope_value out)")
    if scope != ORGANIZATION and not value:
        raise ValueError(f"scope_value: required for scope {scope} (the {scope.replace('_', ' ')} it applies to)")
    if len(value) > 256:
        raise ValueError("scope_value: at most 256 characters")
    return str(scope), value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("name: expected a non-empty string")
    if len(value) > 200:
        raise ValueError("name: at most 200 characters")
    return value.strip()


def _amount(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("amount: expected a number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError("amount: expected a finite number greater than 0")
    if value > MAX_AMOUNT:
        raise ValueError(f"amount: at most {MAX_AMOUNT:.0e}")
    return float(value)


def _thresholds(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError("thresholds: expected a list of fractions of the amount (e.g. [0.75, 0.9, 1.0])")
    fractions = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise ValueError(f"thresholds[{i}]: expected a number")
        if not 0 < item <= MAX_THRESHOLD:
            hint = f" (for {item:g} % write {item / 100:g})" if MAX_THRESHOLD < item <= 1000 else ""
            raise ValueError(
                f"thresholds[{i}]: {item:g} is not a fraction of the amount in (0, {MAX_THRESHOLD:g}]{hint}; "
                "thresholds are fractions, not percentages"
            )
        fractions.append(float(item))
    if len(set(fractions)) != len(fractions):
        raise ValueError("thresholds: each threshold once")
    return tuple(sorted(fractions))
