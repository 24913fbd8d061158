"""Model prices: a dated table per model, shipped as data and overridable, and the cost of tokens by it."""
