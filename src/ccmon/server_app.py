"""The API app `ccmon serve` answers on its UI/API port, with every router: analytics, login, users and API keys,
ingest tokens, single sign-on, the directory, privacy, alerts, budgets and policies, and what a developer's machine
asks (the Claude Code hooks, the statusline, the MCP server, the doctor) and the setup files.

Built here, in one place, for the server and for the tests: the route x role tests (tests/web/test_roles.py) call
every route of the app this module builds, so a router cannot be added to the server and escape them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from ccmon.alerts.budgets import directory_people
from ccmon.alerts.config_file import AlertsFileError
from ccmon.alerts.hooks import HookService, TokenGrant
from ccmon.alerts.services import AlertServices, open_alert_services
from ccmon.analytics import Analytics
from ccmon.auth.audit import Audit
from ccmon.auth.authenticator import Authenticator, AuthSettings, open_authenticator
from ccmon.auth.oidc_login import open_oidc_login
from ccmon.auth.ratelimit import LoginLimiter
from ccmon.directory.pseudonyms import person_key_of
from ccmon.directory.registry import Directory
from ccmon.directory_cli import directory_service
from ccmon.imports.records import ImportWriter
from ccmon.ingest.limits import record_limits
from ccmon.ingest.tokens import Grant, IngestTokens
from ccmon.prices_config import open_prices
from ccmon.privacy_cli import open_eraser
from ccmon.settings import Config, ConfigError, external_url
from ccmon.store.facade import Store
from ccmon.web.access_routes import access_routes
from ccmon.web.alert_routes import alert_routes
from ccmon.web.app import create_app, scrape_authorizer
from ccmon.web.auth_routes import auth_routes
from ccmon.web.budget_routes import budget_routes
from ccmon.web.client_caller import ClientCallers
from ccmon.web.directory_routes import directory_routes
from ccmon.web.doctor_routes import doctor_routes
from ccmon.web.exports import audit_exports
from ccmon.web.history_routes import history_routes
from ccmon.web.hook_routes import hook_routes
from ccmon.web.me_routes import me_routes
from ccmon.web.oidc_routes import oidc_routes
from ccmon.web.params import Authenticate
from ccmon.web.pricing_routes import pricing_routes
from ccmon.web.privacy_routes import privacy_routes
from ccmon.web.prom_routes import prom_routes
from ccmon.web.report_routes import report_routes
from ccmon.web.setup_routes import setup_routes
from ccmon.web.statusline_routes import statusline_routes
from ccmon.web.token_routes import token_routes
from ccmon.web.ui import LoadingStatus, ServerInfo


@dataclass(frozen=True)
class AccessServices:
    """The objects behind access control, shared by the receivers (ingest tokens) and the API."""

    store: Store
    authenticator: Authenticator
    tokens: IngestTokens
    directory: Directory
    audit: Audit


def open_access(config: Config, store: Store, directory: Directory) -> AccessServices:
    """Access control over a migrated store (blocking: reads the store's secrets). A login maps to the person key its
    rows carry (its email, or the email's pseudonym with `hash_emails`) and to its team and department in the
    directory."""
    person_key = person_key_of(config, store)

    def profile(email: str) -> tuple[str, str] | None:
        person = directory.lookup(email)
        return (person.team, person.department) if person else None

    authenticator = open_authenticator(
        AuthSettings.from_config(config),
        store,
        session_ttl_hours=config.session_ttl_hours,
        session_idle_minutes=config.session_idle_minutes,
        person_of=person_key,
        profile=profile,
    )
    return AccessServices(store, authenticator, IngestTokens(store), directory, Audit(store))


def open_alerts(config: Config, store: Store, directory: Directory, *, holder: str | None = None) -> AlertServices:
    """Alerting over a migrated store (blocking): the default rules seeded and the alerts file applied; a malformed
    file stops the start (ConfigError naming the line), as a malformed directory file does."""
    try:
        return open_alert_services(
            store,
            Analytics(store),
            alerts_file=config.alerts_file,
            people=directory_people(directory),
            external_url=external_url(config),
            interval_s=config.alerts_interval_s,
            holder=holder,
        )
    except AlertsFileError as exc:
        raise ConfigError(f"alerts_file {exc}") from None


def ingest_token_check(config: Config, access: AccessServices) -> Callable[[str], TokenGrant | None]:
    """What a presented secret grants as an ingest token the receivers accept (a static one: no pins, no limit; one
    in the store: its pins and its rate limit, shared with its exports), for the hooks, which Claude Code calls with
    the token it exports telemetry with; None when it is none."""
    static = tuple(token.encode() for token in config.ingest_tokens)

    def granted(presented: str) -> TokenGrant | None:
        given = presented.encode()
        # Compare with every static token, without stopping at a match, so timing tells nothing.
        if any([hmac.compare_digest(given, token) for token in static]):
            return TokenGrant()
        grant = access.tokens.authorize(presented)
        return None if grant is None else hook_grant(grant)

    return granted


def hook_grant(grant: Grant) -> TokenGrant:
    """An ingest token's grant as the hooks take it: its pins, and a hook request counted as one record against its
    rate limit."""
    limiter = grant.limiter
    if limiter is None:
        return TokenGrant(dict(grant.pins))
    return TokenGrant(dict(grant.pins), lambda: limiter.take(1))


def build_api(
    config: Config,
    access: AccessServices,
    *,
    registry: CollectorRegistry,
    info: ServerInfo,
    ready: Callable[[], bool],
    loading: Callable[[], LoadingStatus | None] = lambda: None,
    authenticate: Authenticate | None = None,
    alerts: AlertServices | None = None,
    analytics: Analytics | None = None,
) -> FastAPI:
    """The whole API app (blocking: opens the eraser and single sign-on, and alerting when `alerts` is not given).
    `authenticate` replaces the authenticator as the judge of who is calling (tests pick a role per request); login
    and single sign-on still use the real one. `analytics` is the process's one (its price table and Prometheus
    cache shared with the report schedule); made here from `pricing_file` when not given."""
    store, audit, authenticator = access.store, access.audit, access.authenticator
    judge = authenticate or authenticator

    def ingest_token_required() -> bool:
        # Static tokens, or ingest tokens in the store (created and revoked while the server runs).
        return bool(config.ingest_tokens) or access.tokens.required()

    analytics = analytics or Analytics(store, open_prices(config))
    api = create_app(
        analytics,
        ready=ready,
        registry=registry,
        info=info,
        loading=loading,
        api_tokens=config.api_tokens,
        scrape_tokens=config.scrape_tokens,
        authenticate=judge,
        ingest_token_required=ingest_token_required,
    )
    secure = authenticator.settings.secure_cookies  # over TLS
    api.include_router(auth_routes(authenticator, audit, LoginLimiter(), secure_cookies=secure, authenticate=judge))
    sso = open_oidc_login(config, authenticator, audit)
    api.include_router(oidc_routes(sso, authenticator.sessions, secure_cookies=secure))
    api.include_router(access_routes(judge, users=authenticator.users, api_keys=authenticator.api_keys, audit=audit))
    api.include_router(token_routes(access.tokens, judge, audit), prefix="/api/v1")
    eraser = open_eraser(store, hash_emails=config.hash_emails, hash_secret=config.hash_secret)
    api.include_router(privacy_routes(eraser, judge), prefix="/api/v1")
    directories = directory_service(config, store, access.directory, audit)
    api.include_router(directory_routes(directories, judge), prefix="/api/v1")
    alerts = alerts or open_alerts(config, store, access.directory)
    api.include_router(alert_routes(alerts, judge, audit), prefix="/api/v1")
    api.include_router(budget_routes(alerts, judge, audit), prefix="/api/v1")
    hooks = HookService(store, alerts.budgets, alerts.policies, person_key_of(config, store))
    callers = ClientCallers(hooks, judge, ingest_token_check(config, access), ingest_token_required)
    api.include_router(hook_routes(callers), prefix="/api/v1")
    api.include_router(statusline_routes(callers, analytics, record_limits(store)), prefix="/api/v1")
    api.include_router(me_routes(callers, analytics, alerts.budgets), prefix="/api/v1")
    api.include_router(doctor_routes(callers, analytics), prefix="/api/v1")
    api.include_router(setup_routes(judge, info), prefix="/api/v1")
    imports = ImportWriter.from_config(config, store, access.directory, analytics.prices)
    api.include_router(history_routes(analytics, judge, imports.write, audit), prefix="/api/v1")
    api.include_router(prom_routes(analytics, scrape_authorizer(judge, config.scrape_tokens), config))
    api.include_router(report_routes(analytics, judge), prefix="/api/v1")
    api.include_router(pricing_routes(analytics, judge), prefix="/api/v1")
    audit_exports(api, audit)
    return api
