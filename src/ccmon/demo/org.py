"""The synthetic organisation: teams, developers and their set-ups, the models they use and what the models cost.

Everything here is drawn from one `random.Random(seed)`, so the same seed and sizes give the same organisation.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

ORG_NAME = "Northwind Robotics"
DOMAIN = "northwind.example"
"""RFC 2606 `.example`: the demo never names a real company or mailbox."""
VCS_OWNER = "northwind"


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_creation: float

    def cost(self, input_tokens: int, output_tokens: int, cache_read: int, cache_creation: int) -> float:
        """The cost of one request in USD, rounded to micro-dollars like a bill."""
        total = (
            input_tokens * self.input
            + output_tokens * self.output
            + cache_read * self.cache_read
            + cache_creation * self.cache_creation
        )
        return round(total / 1_000_000, 6)


SONNET = "claude-sonnet-4-5"
OPUS = "claude-opus-4-1"
HAIKU = "claude-haiku-4-5"

PRICES: dict[str, Price] = {
    SONNET: Price(3.0, 15.0, 0.30, 3.75),
    OPUS: Price(15.0, 75.0, 1.50, 18.75),
    HAIKU: Price(1.0, 5.0, 0.10, 1.25),
}

# Claude Code versions in use, newest first, with how many developers run each (weights).
VERSIONS = (("2.1.330", 50), ("2.1.328", 22), ("2.1.322", 16), ("2.1.316", 12))
TERMINALS = (
    ("vscode", 30),
    ("iTerm.app", 20),
    ("cursor", 12),
    ("tmux", 10),
    ("WarpTerminal", 9),
    ("ghostty", 7),
    ("Apple_Terminal", 6),
    ("pycharm", 6),
)
# (os.type, os.version, host.arch, weight)
PLATFORMS = (
    ("darwin", "25.1.0", "arm64", 46),
    ("darwin", "24.6.0", "arm64", 18),
    ("linux", "6.17.8-200.fc42.x86_64", "amd64", 16),
    ("linux", "6.8.0-88-generic", "amd64", 12),
    ("windows", "10.0.26100", "amd64", 4),
    ("linux", "6.6.87.2-microsoft-standard-WSL2", "amd64", 4),
)

FIRST_PARTY, BEDROCK, VERTEX = "firstParty", "bedrock", "vertex"
"""Claude Code's `anthropic.provider`: the Anthropic API, Amazon Bedrock, Google Vertex AI."""
MODEL_IDS: dict[str, dict[str, str]] = {
    BEDROCK: {
        SONNET: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        OPUS: "us.anthropic.claude-opus-4-1-20250805-v1:0",
        HAIKU: "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    },
    VERTEX: {
        SONNET: "claude-sonnet-4-5@20250929",
        OPUS: "claude-opus-4-1@20250805",
        HAIKU: "claude-haiku-4-5@20251001",
    },
}
"""The model ids Claude Code sends on each cloud (the Anthropic API's are the names themselves)."""

# (team, department, cost center prefix, UTC offset of its office in hours, repositories with their main language,
#  the provider its people use, and the project its `OTEL_RESOURCE_ATTRIBUTES` tag, if any)
TEAM_TEMPLATES: tuple[tuple[str, str, str, int, tuple[tuple[str, str], ...], str, str | None], ...] = (
    ("platform", "engineering", "ENG", 0, (("platform-core", "Go"), ("deploy-tools", "Python")), FIRST_PARTY, None),
    ("payments", "engineering", "ENG", 1, (("payments-api", "Kotlin"), ("ledger", "Java")), BEDROCK, "checkout"),
    ("web", "product", "PRD", 0, (("storefront", "TypeScript"), ("design-system", "TypeScript")), FIRST_PARTY, None),
    ("mobile", "product", "PRD", -5, (("ios-app", "Swift"), ("android-app", "Kotlin")), VERTEX, "mobile-apps"),
    ("data", "data", "DAT", 1, (("pipelines", "Python"), ("warehouse-models", "SQL")), FIRST_PARTY, None),
    ("ml", "data", "DAT", -5, (("ranking", "Python"), ("feature-store", "Python")), BEDROCK, None),
    ("infra", "engineering", "ENG", -8, (("terraform", "HCL"), ("k8s-manifests", "YAML")), FIRST_PARTY, None),
    ("security", "security", "SEC", 0, (("secrets-scanner", "Rust"), ("policy-engine", "Go")), FIRST_PARTY, None),
    ("growth", "product", "PRD", -8, (("experiments", "TypeScript"), ("growth-api", "Python")), VERTEX, None),
    ("identity", "engineering", "ENG", 1, (("auth-service", "Go"), ("sso-gateway", "Rust")), FIRST_PARTY, None),
)

FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Maya",
    "Nikhil", "Olga", "Pablo", "Qi", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe",
    "Amara", "Bruno", "Camille", "Diego", "Eitan", "Freya", "Gustavo", "Hana", "Ivan", "Julia", "Kofi", "Lena",
    "Mateo", "Noor",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Petrov", "Garcia", "Haddad", "Kim", "Tanaka", "Silva", "Becker", "Adeyemi",
    "Nilsson", "Cohen", "Rao", "Ivanova", "Romero", "Zhang", "Costa", "Berg", "Murphy", "Khan", "Novak", "Chen",
    "Lopez", "Demir", "Walsh", "Mensah", "Rossi", "Dubois", "Fernandez", "Levi", "Larsen", "Pereira", "Sato",
    "Kowalski", "Schmidt", "Boateng", "Meyer", "Torres", "Aziz",
)  # fmt: skip


@dataclass(frozen=True)
class Repository:
    name: str
    language: str

    @property
    def url(self) -> str:
        return f"https://github.com/{VCS_OWNER}/{self.name}"


@dataclass(frozen=True)
class Team:
    name: str
    department: str
    cost_center: str
    utc_offset_h: int
    """The team's office: developers work 9-to-6 in this offset."""
    repositories: tuple[Repository, ...]
    provider: str = FIRST_PARTY
    """Where its people's requests go (`anthropic.provider`)."""
    project: str | None = None
    """The `project` its people set in `OTEL_RESOURCE_ATTRIBUTES`, if any."""

    def model_id(self, model: str) -> str:
        """The id Claude Code sends for a model on this team's provider."""
        return MODEL_IDS.get(self.provider, {}).get(model, model)


@dataclass(frozen=True)
class Person:
    index: int
    name: str
    email: str
    user_id: str
    """Claude Code's anonymous installation id: 64 hex characters."""
    account_uuid: str
    team: Team
    terminal: str
    os_type: str
    os_version: str
    host_arch: str
    version: str
    cumulative: bool
    """Exports metrics with cumulative temporality (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`)."""
    heavy: bool
    """A power user: more, longer sessions, more Opus, more subagents."""
    sessions_per_day: float
    main_model: str
    opus_share: float
    """Share of main-loop requests this person sends to Opus instead of the main model."""
    effort: str
    rejects: float
    """How often this person rejects an edit the model proposes."""
    fast: bool
    """Uses fast mode on Opus requests."""


@dataclass(frozen=True)
class Organisation:
    seed: int
    name: str
    organization_id: str
    teams: tuple[Team, ...]
    people: tuple[Person, ...]


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_organisation(seed: int = 1, developers: int = 40, teams: int = 6) -> Organisation:
    """`developers` people in `teams` teams (at most 10 teams; never more teams than people)."""
    if developers < 1 or teams < 1:
        raise ValueError("the demo needs at least one developer and one team")
    if teams > len(TEAM_TEMPLATES):
        raise ValueError(f"the demo has at most {len(TEAM_TEMPLATES)} teams")
    rng = random.Random(seed)
    team_list = tuple(_team(template, index) for index, template in enumerate(TEAM_TEMPLATES[: min(teams, developers)]))
    # Uneven team sizes: every team gets one person, the rest go by weight.
    weights = [rng.uniform(0.6, 1.6) for _ in team_list]
    assignment = list(range(len(team_list))) + rng.choices(
        range(len(team_list)), weights, k=developers - len(team_list)
    )
    heavy = set(rng.sample(range(developers), max(1, round(developers * 0.1)))) if developers >= 3 else set()
    fast = set(sorted(heavy)[::2])  # half the heavy users (at least one) pay for fast mode on Opus
    names = _names(rng, developers)
    people = tuple(
        _person(rng, index, names[index], team_list[assignment[index]], heavy=index in heavy, fast=index in fast)
        for index in range(developers)
    )
    return Organisation(seed, ORG_NAME, new_uuid(rng), team_list, people)


def _team(template: tuple[str, str, str, int, tuple[tuple[str, str], ...], str, str | None], index: int) -> Team:
    name, department, prefix, offset, repositories, provider, project = template
    return Team(
        name=name,
        department=department,
        cost_center=f"{prefix}-{100 + index:03d}",
        utc_offset_h=offset,
        repositories=tuple(Repository(repo, language) for repo, language in repositories),
        provider=provider,
        project=project,
    )


def _names(rng: random.Random, count: int) -> list[str]:
    pairs = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    return [f"{first} {last}" for first, last in rng.sample(pairs, count)]


def _person(rng: random.Random, index: int, name: str, team: Team, *, heavy: bool, fast: bool) -> Person:
    first, last = name.lower().split(" ")
    os_type, os_version, host_arch = _platform(rng)
    main_model = SONNET if rng.random() < 0.85 or heavy else OPUS
    return Person(
        index=index,
        name=name,
        email=f"{first}.{last}@{DOMAIN}",
        user_id=f"{rng.getrandbits(256):064x}",
        account_uuid=new_uuid(rng),
        team=team,
        terminal=pick(rng, TERMINALS),
        os_type=os_type,
        os_version=os_version,
        host_arch=host_arch,
        version=pick(rng, VERSIONS),
        cumulative=rng.random() < 0.25,
        heavy=heavy,
        sessions_per_day=rng.uniform(3.5, 5.0) if heavy else rng.uniform(1.0, 2.4),
        main_model=main_model,
        opus_share=rng.uniform(0.25, 0.5) if heavy else rng.choice((0.0, 0.0, 0.05, 0.1, 0.2)),
        effort=pick(rng, (("medium", 6), ("high", 3), ("low", 1))),
        rejects=rng.uniform(0.03, 0.15),
        fast=fast,
    )


def _platform(rng: random.Random) -> tuple[str, str, str]:
    choice = rng.choices(PLATFORMS, [p[3] for p in PLATFORMS])[0]
    return choice[0], choice[1], choice[2]
