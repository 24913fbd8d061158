"""A lease in the store, so that of the ccmon processes sharing one ClickHouse exactly one evaluates the alert rules.

ClickHouse has no transactions and no compare-and-set, so the lease is a log of claims in `leases`, and who holds it
is a pure function of that log and of the *store's* clock (`now64()`, never a process's: processes' clocks differ,
the server's is one). Each row is (name, holder, term_start, expires_at):

- a *term* is the rows of one (holder, term_start); it is live while its latest `expires_at` is in the future and
  no release row (holder `<holder>#released`, same `term_start`) exists for it;
- the holder is the holder of the live term with the smallest (term_start, holder): the earliest claim wins;
- the holder renews by inserting a row of its own term with a later expiry (an `INSERT ... SELECT` that finds the
  term live and its own in the same statement);
- anyone else inserts a claim (a new term starting now) only when no term is live, then reads who holds it.

Two processes claiming at once both insert, both read, and both see the same earliest claim: one wins. What the
design cannot rule out is a holder whose renewal is delayed past its expiry (a process stopped for longer than the
TTL): its renewal statement then finds its term dead and inserts nothing, so it learns at its next call that it lost
the lease. The TTL is therefore several times the renewal interval (the engine renews at every evaluation).
"""

from __future__ import annotations

from ccmon.store.facade import Store

RELEASED = "#released"

# The live terms of one lease, earliest first. Parameters: name.
_LIVE = f"""
SELECT holder, term_start
FROM leases
WHERE name = {{name:String}}
GROUP BY holder, term_start
HAVING max(expires_at) > now64(6)
   AND (concat(holder, '{RELEASED}'), term_start) NOT IN (
       SELECT holder, term_start FROM leases WHERE name = {{name:String}})
ORDER BY term_start, holder
"""

_RENEW = f"""
INSERT INTO leases (name, holder, term_start, expires_at)
SELECT {{name:String}}, holder, term_start, now64(6) + toIntervalMillisecond({{ttl_ms:UInt32}})
FROM ({_LIVE} LIMIT 1)
WHERE holder = {{holder:String}}
"""

_CLAIM = f"""
INSERT INTO leases (name, holder, term_start, expires_at)
SELECT {{name:String}}, {{holder:String}}, now64(6), now64(6) + toIntervalMillisecond({{ttl_ms:UInt32}})
WHERE (SELECT count() FROM ({_LIVE})) = 0
"""

_RELEASE = f"""
INSERT INTO leases (name, holder, term_start, expires_at)
SELECT {{name:String}}, concat(holder, '{RELEASED}'), term_start, now64(6) - toIntervalSecond(1)
FROM ({_LIVE})
WHERE holder = {{holder:String}}
"""


class Lease:
    """One process's view of the lease `name`. Not thread-safe: one engine thread calls it."""

    def __init__(self, store: Store, name: str, holder: str, ttl_s: float = 60) -> None:
        if not holder or holder.endswith(RELEASED):
            raise ValueError(f"lease holder {holder!r}: must be non-empty and not end with {RELEASED!r}")
        if not 0.1 <= ttl_s <= 86_400:
            raise ValueError(f"lease ttl {ttl_s}: expected between 0.1 s and a day")
        self._store = store
        self.name = name
        self.holder = holder
        self.ttl_s = ttl_s

    def acquire_or_renew(self) -> bool:
        """Renew the lease when this process holds it, claim it when nobody does; whether this process holds it."""
        self._renew()
        self._claim()
        return self.current_holder() == self.holder

    def current_holder(self) -> str | None:
        rows = self._store.query(f"{_LIVE} LIMIT 1", {"name": self.name})
        return str(rows[0][0]) if rows else None

    def release(self) -> None:
        """End this process's term (at a clean shutdown) so another process takes over at its next call instead of
        waiting for the TTL. Does nothing when this process does not hold the lease."""
        self._store.command(_RELEASE, {"name": self.name, "holder": self.holder})

    def _renew(self) -> None:
        self._store.command(_RENEW, self._parameters())

    def _claim(self) -> None:
        self._store.command(_CLAIM, self._parameters())

    def _parameters(self) -> dict[str, str | int]:
        return {"name": self.name, "holder": self.holder, "ttl_ms": round(self.ttl_s * 1000)}
