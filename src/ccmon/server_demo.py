"""`serve --demo`: the demo organisation sent to the server's own OTLP/gRPC port, with its progress for the UI.

The load runs in a thread of the server (the demo's worker processes do the encoding). Its status is this process's
only: lost on restart, which is safe, since a restarted server does not load the demo again into a store that holds
events, and the demo's people are recognised by their email domain wherever it matters (the Connect page).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from ccmon import demo
from ccmon.web.ui import LoadingStatus

log = logging.getLogger(__name__)

DEMO_DOMAIN = demo.DOMAIN
DEMO_DURATION = "about 30 s on 2 idle cores, longer on busy ones"
"""What the console says the load takes (measured: docs/performance.md, "Demo load")."""


class DemoLoad:
    """One demo load: sends it, and says how far it has got."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = LoadingStatus(kind="demo", state="running", done=0, total=None, started=datetime.now(UTC))

    def status(self) -> LoadingStatus:
        with self._lock:
            return self._status.model_copy()

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._status = self._status.model_copy(update=changes)

    def progress(self, done: int, total: int | None) -> None:
        self._update(done=done, total=total)

    def send(self, endpoint: str, token: str | None) -> None:
        try:
            totals = demo.run(endpoint, "grpc", token=token, progress=self.progress)
        except Exception as exc:
            self._update(state="failed", finished=datetime.now(UTC), error=str(exc))
            log.exception("demo data could not be loaded")
            return
        self._update(state="done", finished=datetime.now(UTC))
        summary = totals.describe().splitlines()[0]
        log.info("demo data loaded: %s", summary, extra={"demo_totals": totals.summary()})
