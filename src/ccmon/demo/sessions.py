"""What the developers do: Claude Code sessions, the prompts in them, and each prompt's API requests, errors and tools.

A session is one Claude Code process. Each prompt is an agentic loop: an API request, the tools the model asked for
(each with a permission decision and, unless rejected, a result), the next request, and so on until the model answers,
a tool is rejected or the API fails after its retries. Times are milliseconds since the epoch (Claude Code's
`event.timestamp` has millisecond precision).

Each developer's day is drawn from its own `random.Random`, seeded with the demo seed, the developer and the date, so
a day looks the same whatever window it is generated in: sending the demo again later re-sends identical data for the
days both windows share, and ccmon's dedup keys recognise it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ccmon.demo.org import HAIKU, OPUS, PRICES, Organisation, Person, Repository, new_uuid

EDIT_TOOLS = frozenset({"Edit", "Write", "NotebookEdit"})
READ_ONLY_TOOLS = frozenset({"Read", "Grep", "Glob", "TodoWrite", "Task", "WebSearch"})

# Local hour a session starts at (weights): a working day with a lunch dip and a few evenings.
START_HOURS = {
    7: 1.0, 8: 4.0, 9: 9.0, 10: 12.0, 11: 11.0, 12: 5.0, 13: 7.0, 14: 11.0, 15: 12.0, 16: 10.0, 17: 7.0, 18: 3.0,
    19: 1.5, 20: 1.2, 21: 0.8, 22: 0.5,
}  # fmt: skip

# Tools the main loop asks for (weights). Task starts a subagent.
MAIN_TOOLS = {
    "Read": 28.0, "Edit": 18.0, "Bash": 17.0, "Grep": 10.0, "Glob": 5.0, "Write": 5.0, "TodoWrite": 5.0,
    "Task": 4.0, "WebFetch": 3.0, "WebSearch": 2.0, "NotebookEdit": 0.5,
}  # fmt: skip
SUBAGENT_TOOLS = {"Read": 5.0, "Grep": 3.0, "Glob": 2.0, "Bash": 1.0}
OTHER_LANGUAGES = {"Markdown": 5.0, "JSON": 3.0, "YAML": 3.0, "Shell": 1.0}
SUCCESS_RATE = {"Bash": 0.88, "Edit": 0.95, "WebFetch": 0.9}
# Median and longest duration of a tool, in ms.
TOOL_DURATION_MS = {
    "Read": (25, 2000), "Grep": (120, 8000), "Glob": (40, 3000), "Edit": (35, 2000), "Write": (30, 2000),
    "NotebookEdit": (60, 3000), "Bash": (2500, 600_000), "WebFetch": (1800, 30_000), "WebSearch": (3500, 30_000),
    "TodoWrite": (5, 200),
}  # fmt: skip


@dataclass(frozen=True)
class ErrorKind:
    status_code: int | None
    """`None`: not an HTTP error (Claude Code then sends no `status_code`)."""
    message: str
    retried: bool
    last_attempt_ms: int
    weight: float


API_ERRORS = (
    ErrorKind(529, "Overloaded", True, 350, 30.0),
    ErrorKind(429, "Number of request tokens has exceeded your per-minute rate limit", True, 120, 25.0),
    ErrorKind(500, "Internal server error", True, 900, 15.0),
    ErrorKind(400, "prompt is too long: 212410 tokens > 200000 maximum", False, 400, 8.0),
    ErrorKind(None, "Request timed out.", True, 90_000, 12.0),
    ErrorKind(None, "Connection error.", True, 50, 10.0),
)
ERROR_RATE = 0.012
INCIDENT_ERROR_RATE = 0.18
"""During an incident (a two-hour window on a few days of the month) many requests fail, mostly 529 Overloaded."""

TOKENS_PER_S = {OPUS: 45.0, HAIKU: 150.0}
FIRST_TOKEN_MS = {OPUS: 1600, HAIKU: 500}
CONTEXT_LIMIT = 170_000
"""Above this the conversation is compacted (not modelled as a request) and the cached context shrinks."""


@dataclass(frozen=True)
class ApiRequest:
    time_ms: int
    """When the response finished: the `api_request` event's time."""
    model: str
    query_source: str
    """`main` or `subagent` (the counters' attribute)."""
    agent: str
    """The event's `query_source`: `repl_main_thread` or the subagent's name."""
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    cost_usd: float
    duration_ms: int
    ttft_ms: int
    speed: str
    effort: str | None


@dataclass(frozen=True)
class ApiError:
    time_ms: int
    model: str
    query_source: str
    agent: str
    error: str
    status_code: int | None
    attempt: int
    duration_ms: int
    speed: str
    effort: str | None


@dataclass(frozen=True)
class ToolUse:
    decision_ms: int
    tool_name: str
    tool_use_id: str
    decision: str
    source: str
    result_ms: int | None
    """When the tool finished; `None` for a rejected call (Claude Code sends no `tool_result` then)."""
    success: bool
    duration_ms: int
    model: str
    """The model that asked for the tool (the `model` of the lines-of-code counter)."""
    language: str | None = None
    lines_added: int = 0
    lines_removed: int = 0
    commit: bool = False
    pull_request: bool = False

    @property
    def accepted(self) -> bool:
        return self.decision == "accept"

    @property
    def edit(self) -> bool:
        return self.tool_name in EDIT_TOOLS


Step = ApiRequest | ApiError | ToolUse


@dataclass
class Prompt:
    id: str
    time_ms: int
    length: int
    model: str
    steps: list[Step] = field(default_factory=list)
    end_ms: int = 0
    answered: bool = True
    """False when the prompt ended in an API error or a rejected tool (no `assistant_response` then)."""
    response_length: int = 0
    user_active_s: float = 0.0
    cli_active_s: float = 0.0
    export_ms: int = 0
    """When the metric export carrying this prompt's counters leaves Claude Code."""


@dataclass
class Session:
    """One Claude Code process. A resumed session keeps the session id of the one it resumes."""

    id: str
    person: Person
    start_ms: int
    start_type: str
    repository: Repository
    prompts: list[Prompt] = field(default_factory=list)

    @property
    def end_ms(self) -> int:
        return self.prompts[-1].export_ms if self.prompts else self.start_ms


def window(days: int, now: datetime) -> tuple[datetime, datetime]:
    """[start, end): the `days` UTC dates up to and including `now`'s, cut at `now`."""
    if days < 1:
        raise ValueError("the demo needs at least one day")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    end = now.astimezone(UTC)
    return datetime.combine(end.date() - timedelta(days=days - 1), time(), UTC), end


def generate_sessions(
    org: Organisation, days: int, now: datetime, people: Sequence[Person] | None = None
) -> list[Session]:
    """Every session that starts in the window, without the prompts whose metrics would be exported after `now`.

    Sessions are kept or left out whole at the window's start, so a cumulative series never counts a prompt that is
    not in the data. `people`: only these developers (default: everyone).
    """
    start, end = window(days, now)
    start_ms, end_ms = to_ms(start), to_ms(end)
    # One local day more at the start: a team west of UTC works into the window's first UTC day.
    dates = [start.date() + timedelta(days=offset) for offset in range(-1, days)]
    kept: list[Session] = []
    for person in org.people if people is None else people:
        for day in dates:
            for session in _person_day(org.seed, person, day):
                session.prompts = [p for p in session.prompts if p.export_ms < end_ms]
                if session.start_ms >= start_ms and session.prompts:
                    kept.append(session)
    kept.sort(key=lambda s: (s.start_ms, s.person.index))
    return kept


def incident_window(seed: int, day: date) -> tuple[int, int] | None:
    """A two-hour API incident on some days (the same for everyone), as [start, end) in ms."""
    rng = random.Random(f"{seed}:incident:{day.isoformat()}")
    if rng.random() >= 0.08:
        return None
    begins = datetime.combine(day, time(rng.randint(9, 19)), UTC)
    return to_ms(begins), to_ms(begins + timedelta(hours=2))


def to_ms(instant: datetime) -> int:
    delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _lognormal(rng: random.Random, median: float, sigma: float, low: int, high: int) -> int:
    return max(low, min(high, round(rng.lognormvariate(math.log(median), sigma))))


def _choose(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _person_day(seed: int, person: Person, day: date) -> list[Session]:
    rng = random.Random(f"{seed}:{person.index}:{day.isoformat()}")
    weekday = day.weekday() < 5
    if rng.random() >= (0.9 if weekday else (0.3 if person.heavy else 0.06)):
        return []  # a day off, a day of meetings, or the weekend
    count = max(1, _poisson(rng, person.sessions_per_day)) if weekday else 1
    hours, weights = list(START_HOURS), list(START_HOURS.values())
    local_starts = sorted(
        datetime.combine(day, time(rng.choices(hours, weights)[0], rng.randrange(60), rng.randrange(60)), UTC)
        for _ in range(count)
    )
    incident = incident_window(seed, day)
    sessions: list[Session] = []
    for local in local_starts:
        start_ms = to_ms(local - timedelta(hours=person.team.utc_offset_h)) + rng.randrange(1000)
        sessions.append(_session(rng, person, start_ms, sessions, incident))
    return sessions


def _session(
    rng: random.Random, person: Person, start_ms: int, earlier: list[Session], incident: tuple[int, int] | None
) -> Session:
    start_type = rng.choices(("fresh", "resume", "continue"), (80, 12, 8))[0]
    # Never two processes on one session id at once (a cumulative series would interleave).
    busy = {s.id for s in earlier if s.end_ms >= start_ms}
    finished = [s for s in earlier if s.id not in busy]
    session_id, repository = new_uuid(rng), rng.choice(person.team.repositories)
    if start_type != "fresh" and finished:
        resumed = finished[-1] if start_type == "continue" else rng.choice(finished)
        session_id, repository = resumed.id, resumed.repository
    else:
        start_type = "fresh"
    session = Session(session_id, person, start_ms, start_type, repository)
    loop = _Loop(rng, person, repository, incident)
    clock = start_ms + rng.randint(1500, 20_000)  # start-up, then the first prompt is typed
    for _ in range(_lognormal(rng, 8 if person.heavy else 4, 0.6, 1, 40)):
        prompt = loop.prompt(clock)
        session.prompts.append(prompt)
        gap_s = rng.lognormvariate(math.log(70), 0.9)
        if rng.random() < 0.08:
            gap_s += rng.uniform(600, 2400)  # a meeting, lunch, a review
        prompt.user_active_s = round(min(gap_s * 0.6, rng.lognormvariate(math.log(45), 0.7)), 3)
        prompt.export_ms = prompt.end_ms + rng.randint(200, 4000)
        clock = prompt.export_ms + 1000 + int(gap_s * 1000)
    return session


class _Context:
    """The cached conversation of the main loop or of one subagent, in tokens."""

    def __init__(self) -> None:
        self.tokens = 0


class _Loop:
    """The agentic loop of one session: its clock and cached context."""

    def __init__(
        self, rng: random.Random, person: Person, repository: Repository, incident: tuple[int, int] | None
    ) -> None:
        self.rng = rng
        self.person = person
        self.repository = repository
        self.incident = incident
        self.main = _Context()
        self.edited = False
        self.clock = 0
        self.cli_ms = 0

    def prompt(self, at_ms: int) -> Prompt:
        rng, person = self.rng, self.person
        model = OPUS if rng.random() < person.opus_share else person.main_model
        prompt = Prompt(new_uuid(rng), at_ms, _lognormal(rng, 140, 1.0, 3, 6000), model)
        self.clock, self.cli_ms = at_ms + rng.randint(20, 200), 0
        turns = _lognormal(rng, 4.0 if person.heavy else 3.0, 0.6, 1, 30)
        for turn in range(turns):
            if not self.request(prompt, model, "main", "repl_main_thread", self.main):
                break
            if turn == turns - 1:
                break
            if not self.tools(prompt, model):
                break
        if prompt.answered and self.edited and rng.random() < 0.22:
            self.ship(prompt, model)
        if prompt.answered:
            prompt.response_length = _lognormal(rng, 600, 1.0, 1, 20_000)
        prompt.end_ms = self.clock
        prompt.cli_active_s = round(self.cli_ms / 1000, 3)
        return prompt

    def request(self, prompt: Prompt, model: str, query_source: str, agent: str, context: _Context) -> bool:
        """One API request, added to the prompt; False if it failed (which ends the prompt)."""
        rng, person = self.rng, self.person
        effort = None if model == HAIKU else person.effort
        speed = "fast" if person.fast and model == OPUS else "normal"
        in_incident = self.incident is not None and self.incident[0] <= self.clock < self.incident[1]
        if rng.random() < (INCIDENT_ERROR_RATE if in_incident else ERROR_RATE):
            failure = self._error(in_incident)
            prompt.steps.append(ApiError(self.clock, model, query_source, agent, *failure, speed, effort))
            prompt.answered = False
            return False
        first = context.tokens == 0
        cache_creation = rng.randint(14_000, 24_000) if first else _lognormal(rng, 3500, 0.9, 0, 60_000)
        cache_read = context.tokens
        input_tokens = _lognormal(rng, 30, 1.2, 1, 8000)
        output_tokens = _lognormal(rng, 380, 0.9, 1, 32_000)
        context.tokens = cache_read + cache_creation + input_tokens + output_tokens
        if context.tokens > CONTEXT_LIMIT:
            context.tokens = rng.randint(25_000, 40_000)
        ttft = _lognormal(rng, FIRST_TOKEN_MS.get(model, 1000), 0.5, 150, 30_000)
        duration = ttft + round(output_tokens / TOKENS_PER_S.get(model, 75.0) * 1000)
        self.clock += duration
        self.cli_ms += duration
        cost = PRICES[model].cost(input_tokens, output_tokens, cache_read, cache_creation)
        request = ApiRequest(
            time_ms=self.clock,
            model=model,
            query_source=query_source,
            agent=agent,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read,
            cache_creation_tokens=cache_creation,
            cost_usd=cost,
            duration_ms=duration,
            ttft_ms=ttft,
            speed=speed,
            effort=effort,
        )
        prompt.steps.append(request)
        return True

    def _error(self, in_incident: bool) -> tuple[str, int | None, int, int]:
        """A failed request after its retries: (message, status code, attempts, last attempt's ms)."""
        rng = self.rng
        if in_incident and rng.random() < 0.9:
            kind = API_ERRORS[0]
        else:
            kind = rng.choices(API_ERRORS, [e.weight for e in API_ERRORS])[0]
        attempt = (11 if rng.random() < 0.6 else rng.randint(2, 10)) if kind.retried else 1
        duration = _lognormal(rng, kind.last_attempt_ms, 0.5, 5, 600_000)
        # `duration_ms` is the last attempt's; the retries before it (with backoff) take the prompt's time too.
        spent = sum(min(500 * 2**i, 32_000) for i in range(attempt - 1)) + duration * attempt
        self.clock += spent
        self.cli_ms += spent
        return kind.message, kind.status_code, attempt, duration

    def tools(self, prompt: Prompt, model: str) -> bool:
        """The tools one response asks for (sometimes several at once); False once one is rejected."""
        rng = self.rng
        weights = dict(MAIN_TOOLS)
        if self.person.heavy:
            weights["Task"] *= 2
        for _ in range(rng.choices((1, 2, 3), (75, 18, 7))[0]):
            name = _choose(rng, weights)
            if name == "Task":
                self.subagent(prompt, model)
            elif not self.tool(prompt, name, model):
                prompt.answered = False
                return False
        return True

    def tool(self, prompt: Prompt, name: str, model: str, *, auto: bool = False, bash: str = "") -> bool:
        """One tool call, added to the prompt; False if the user rejected it."""
        rng = self.rng
        self.clock += rng.randint(5, 60)
        decided = self.clock
        decision, source = self._decide(name, auto)
        tool_use_id = f"toolu_{rng.getrandbits(96):024x}"
        language = self._language(name)
        if decision == "reject":
            self.clock += rng.randint(1500, 30_000)  # the user reads the proposal, then says no
            prompt.steps.append(ToolUse(decided, name, tool_use_id, decision, source, None, False, 0, model, language))
            return False
        if source.startswith("user_"):
            self.clock += _lognormal(rng, 4000, 0.8, 400, 120_000)  # waiting for the user's approval
        median, longest = TOOL_DURATION_MS.get(name, (100, 10_000))
        duration = _lognormal(rng, median, 1.1 if name == "Bash" else 0.8, 1, longest)
        success = bool(bash) or rng.random() < SUCCESS_RATE.get(name, 0.98)
        self.clock += duration
        self.cli_ms += duration
        added = removed = 0
        if name in EDIT_TOOLS and success:
            self.edited = True
            if name == "Write":
                added = _lognormal(rng, 60, 1.0, 1, 1500)
            else:
                added = _lognormal(rng, 9, 1.1, 0, 400)
                removed = _lognormal(rng, 4, 1.2, 0, 300) if rng.random() < 0.75 else 0
        done = ToolUse(
            decision_ms=decided,
            tool_name=name,
            tool_use_id=tool_use_id,
            decision=decision,
            source=source,
            result_ms=self.clock,
            success=success,
            duration_ms=duration,
            model=model,
            language=language,
            lines_added=added,
            lines_removed=removed,
            commit=bash == "commit",
            pull_request=bash == "pr",
        )
        prompt.steps.append(done)
        return True

    def _decide(self, name: str, auto: bool) -> tuple[str, str]:
        rng = self.rng
        if auto or name in READ_ONLY_TOOLS:
            return "accept", "config" if rng.random() < 0.95 else "user_permanent"
        if rng.random() < {"Bash": 0.6, "WebFetch": 0.4}.get(name, 1.0) * self.person.rejects:
            return "reject", rng.choices(("user_reject", "user_abort", "hook"), (82, 10, 8))[0]
        if name == "Bash":
            return "accept", rng.choices(("config", "user_temporary", "user_permanent", "hook"), (40, 38, 17, 5))[0]
        return "accept", rng.choices(("user_temporary", "config", "user_permanent", "hook"), (45, 35, 15, 5))[0]

    def _language(self, name: str) -> str | None:
        if name not in EDIT_TOOLS:
            return None
        if name == "NotebookEdit":
            return "Jupyter Notebook"
        roll = self.rng.random()
        if roll < 0.72:
            return self.repository.language
        if roll < 0.97:
            return _choose(self.rng, OTHER_LANGUAGES)
        return None  # an extension Claude Code does not recognise: the attribute is left out

    def subagent(self, prompt: Prompt, model: str) -> None:
        """A Task call: its decision, the subagent's own requests and tools, then the Task's result."""
        rng = self.rng
        self.clock += rng.randint(5, 60)
        decided, tool_use_id = self.clock, f"toolu_{rng.getrandbits(96):024x}"
        agent, agent_model = ("Explore", HAIKU) if rng.random() < 0.65 else ("general-purpose", model)
        at = len(prompt.steps)
        context = _Context()
        for _ in range(_lognormal(rng, 5, 0.5, 2, 25)):
            if not self.request(prompt, agent_model, "subagent", agent, context):
                prompt.answered = True  # the subagent failed, the Task reports it and the main loop goes on
                break
            self.tool(prompt, _choose(rng, SUBAGENT_TOOLS), agent_model, auto=True)
        self.clock += rng.randint(1, 20)
        task = ToolUse(decided, "Task", tool_use_id, "accept", "config", self.clock, True, self.clock - decided, model)
        prompt.steps.insert(at, task)

    def ship(self, prompt: Prompt, model: str) -> None:
        """After edits: `git commit` through Bash, sometimes `gh pr create` too, then the final answer."""
        for action in ("commit", "pr"):
            if action == "pr" and self.rng.random() >= 0.3:
                break
            if not self.request(prompt, model, "main", "repl_main_thread", self.main):
                return
            self.tool(prompt, "Bash", model, auto=True, bash=action)
        self.request(prompt, model, "main", "repl_main_thread", self.main)
