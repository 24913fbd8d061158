"""The field checks shared by rules, budgets, model policies and silences: one message per kind of mistake."""

from __future__ import annotations

from typing import Any

import pytest

from ccmon.alerts.fields import CONTROL, boolean, choice, required, slug
from ccmon.alerts.model import Enforce, Op


def test_required_refuses_absent_and_null() -> None:
    assert required({"amount": 0}, "amount") == 0
    for data in ({}, {"amount": None}):
        with pytest.raises(ValueError, match=r"^amount: required$"):
            required(data, "amount")


@pytest.mark.parametrize("value", ["ok-1", "a", "x_" + "y" * 62])
def test_slug_accepts_ids(value: str) -> None:
    assert slug(value) == value


@pytest.mark.parametrize("value", ["", "Upper", "-lead", "sp ace", "x" * 65, 7, None])
def test_slug_refuses_anything_else(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^id: expected a slug"):
        slug(value)


def test_boolean_takes_only_true_and_false() -> None:
    assert boolean(False, "enabled") is False
    for value in (1, "yes", None):
        with pytest.raises(ValueError, match=r"^enabled: expected true or false$"):
            boolean(value, "enabled")


def test_choice_names_the_value_and_the_choices() -> None:
    assert choice("block", "enforce", Enforce) is Enforce.BLOCK
    with pytest.raises(ValueError, match=r"^enforce: 'hard' is not one of off, warn, block$"):
        choice("hard", "enforce", Enforce)
    with pytest.raises(ValueError, match=r"^op: \['>'\] is not one of >, >=, <, <=$"):
        choice([">"], "op", Op)


def test_control_characters() -> None:
    assert CONTROL.search("a\x00b") and CONTROL.search("tab\there") and CONTROL.search("\x7f")
    assert not CONTROL.search("plain text, ünïcode")
