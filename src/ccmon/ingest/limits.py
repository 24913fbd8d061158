"""STUB (helper C fills this): storing the 5 h / 7 d usage-limit reports `ccmon statusline` sends."""

from collections.abc import Callable
from typing import Any

from ccmon.store.facade import Store


def record_limits(store: Store) -> Callable[[Any], None]:
    def record(report: Any) -> None:
        return None

    return record
