"""The price table a command or the server recomputes cost with: the shipped one plus the `pricing_file` setting.

One place for every entry point (the server, `ccmon import`, `ccmon report weekly`), so a malformed file is the same
ConfigError, naming the setting and the entry, wherever it is read.
"""

from __future__ import annotations

from ccmon.pricing.table import PriceTable, PricingFileError, load_prices
from ccmon.settings import Config, ConfigError


def open_prices(config: Config) -> PriceTable:
    """The shipped table with `pricing_file` applied; a malformed file is a ConfigError, which stops a start as a
    malformed alerts file does."""
    try:
        return load_prices(config.pricing_file)
    except PricingFileError as exc:
        raise ConfigError(f"pricing_file {exc}") from None
