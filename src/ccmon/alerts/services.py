"""Alerting's objects over one store, built once by the server (`ccmon.server_app`) and shared by the engine, the API
and the hooks: the rules, silences, instances, budgets, policies, the channels and their delivery queue, what signals
are evaluated against, and the engine (started by `ccmon.server` once the listeners are up).

The alerts file is applied here: the shipped default rules are seeded (never over an edited one), the file's rules,
budgets and policies replace those it gave before (`source="file"`), and its channels replace the channels in
memory. `reload_file` does it again (SIGHUP, `POST /api/v1/alerts/reload`); a malformed file raises
`AlertsFileError` before anything changes, so the running rules keep working.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ccmon.alerts.budgets import Budgets
from ccmon.alerts.config_file import SOURCE, AlertsFile, load_alerts_file
from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.deliveries import Deliveries
from ccmon.alerts.engine import AlertEngine
from ccmon.alerts.instances import Instances
from ccmon.alerts.model import Channel, Rule, Sample
from ccmon.alerts.policy import Policies
from ccmon.alerts.rules import Rules
from ccmon.alerts.signals import SignalContext, evaluate_rule
from ccmon.alerts.silences import Silences
from ccmon.analytics import Analytics
from ccmon.analytics.spend import PersonDims
from ccmon.store.facade import Store
from ccmon.store.records import utc_now

log = logging.getLogger(__name__)

PEOPLE_CACHE_S = 60.0
MAX_CACHED = 10_000


def process_holder() -> str:
    """This process's name in the evaluation lease: host, pid and a random suffix (a restarted process is another)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PeopleDims:
    """A person's team, department and cost center (`Budgets.dims`: the directory's, else their latest telemetry),
    cached a minute: the API asks it for every instance naming only a person, to decide who may see it."""

    def __init__(self, lookup: Callable[[str], PersonDims]) -> None:
        self._lookup = lookup
        self._cache: dict[str, tuple[float, PersonDims]] = {}
        self._lock = threading.Lock()

    def __call__(self, person: str) -> PersonDims:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(person)
        if cached is not None and now - cached[0] < PEOPLE_CACHE_S:
            return cached[1]
        dims = self._lookup(person)
        with self._lock:
            if len(self._cache) > MAX_CACHED:
                self._cache.clear()
            self._cache[person] = (now, dims)
        return dims

    def groups(self, person: str) -> tuple[str, str] | None:
        """(team, department), for deciding who may see an instance naming only the person."""
        dims = self(person)
        return (dims.team, dims.department) if dims.team or dims.department else None


@dataclass
class AlertServices:
    store: Store
    rules: Rules
    silences: Silences
    instances: Instances
    budgets: Budgets
    policies: Policies
    deliveries: Deliveries
    context: SignalContext
    engine: AlertEngine
    people: PeopleDims
    alerts_file: str | None = None
    loaded: AlertsFile | None = None
    """The alerts file as last applied."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def channels(self) -> Mapping[str, Channel]:
        return self.deliveries.channels

    def groups_of(self, person: str) -> tuple[str, str] | None:
        return self.people.groups(person)

    def evaluate(self, rule: Rule, now: datetime) -> list[Sample]:
        return evaluate_rule(self.context, rule, now)

    def reload_file(self, actor: str = "alerts_file") -> AlertsFile:
        """Read the alerts file again and apply it (AlertsFileError, nothing changed, when it is malformed)."""
        if not self.alerts_file:
            raise ValueError("no alerts file is configured")
        loaded = load_alerts_file(self.alerts_file)
        self.apply_file(loaded, actor)
        return loaded

    def apply_file(self, loaded: AlertsFile, actor: str = "alerts_file") -> None:
        """Make the store's file-sourced definitions exactly the file's, and the channels the file's."""
        with self._lock:
            shipped = {rule.id: rule for rule in DEFAULT_RULES}
            keep = {rule.id for rule in loaded.rules}
            for stale in self.rules.items():
                if stale.source != SOURCE or stale.id in keep:
                    continue
                if stale.id in shipped:
                    self.rules.put(shipped[stale.id], actor)  # the file no longer changes it: the shipped one again
                else:
                    self.rules.delete(stale.id, actor)
            if loaded.rules:
                self.rules.put_many(list(loaded.rules), actor)
            self.budgets.replace_source(SOURCE, list(loaded.budgets), actor)
            self.policies.replace_source(SOURCE, list(loaded.policies), actor)
            self.deliveries.replace_channels(loaded.channels)
            self.loaded = loaded
        log.info("alerts file %s applied: %s", loaded.path, loaded.summary())


def open_alert_services(
    store: Store,
    analytics: Analytics,
    *,
    alerts_file: str | None = None,
    people: Callable[[str], PersonDims | None] | None = None,
    external_url: str = "",
    interval_s: float = 15,
    holder: str | None = None,
) -> AlertServices:
    """Alerting over a migrated store (blocking): the default rules seeded, the alerts file loaded and applied (a
    malformed one raises `AlertsFileError` before anything is written), the engine built but not started."""
    loaded = load_alerts_file(alerts_file) if alerts_file else None
    rules = Rules(store)
    budgets = Budgets(store, people)
    policies = Policies(store, people)
    deliveries = Deliveries(store, loaded.channels if loaded else {}, external_url=external_url)
    context = SignalContext(analytics, budgets, policies)

    def evaluate(rule: Rule, now: datetime) -> list[Sample]:
        return evaluate_rule(context, rule, now)

    silences, instances = Silences(store), Instances(store)
    engine = AlertEngine(
        store,
        evaluate,
        deliveries,
        holder=holder or process_holder(),
        external_url=external_url,
        interval_s=interval_s,
        rules=rules,
        silences=silences,
        instances=instances,
    )
    services = AlertServices(
        store=store,
        rules=rules,
        silences=silences,
        instances=instances,
        budgets=budgets,
        policies=policies,
        deliveries=deliveries,
        context=context,
        engine=engine,
        people=PeopleDims(lambda person: budgets.dims(person, utc_now())),
        alerts_file=alerts_file,
    )
    rules.seed_defaults(DEFAULT_RULES)
    if loaded is not None:
        services.apply_file(loaded, "alerts_file")
    return services
