"""The `certify report` page: its model, `build_report` assembling it, and its HTML.

It reads the store (through `facts` and the `DeliveryLookup`) and never writes it. The courses
that matter now (ending in a window around `now`, plus any with a delivery that needs
attention) are decided participant by participant with the planner's own rules, so the
page says exactly what `run-due` and `explain` would say; years of history are never read.
What falls due next and who is at risk comes from `outlook`. The page is rendered by one
autoescaped Jinja2 template with inline CSS and SVG: no scripts, no fonts, no network.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from importlib.resources import files
from typing import Any

from jinja2 import Environment, StrictUndefined

from certify import locale, words
from certify.clock import from_utc_text
from certify.config import Action, Config, status_key
from certify.decide.decisions import Decision, Planner, effective_since
from certify.decide.facts import (
    Course,
    course_facts,
    participants,
)
from certify.decide.renewal import Renewals
from certify.deliver.lookup import DeliveryLookup, ExistingDelivery, Key
from certify.inspect.history import History
from certify.report import attention, outlook
from certify.report.chart import Chart, sent_per_week
from certify.report.clock import ReportClock
from certify.report.expiring import DEFAULT_EXPIRING_DAYS, Expiring, expiring
from certify.report.roster import courses_ending, enrolled_names
from certify.store.database import Store

DEFAULT_DAYS = 14
HISTORY_WEEKS = 8  # courses that ended this long ago are still shown


@dataclass(frozen=True)
class Cell:
    """One action's state for one participant: a kind, its word and what it waits on."""

    kind: str
    label: str
    detail: str


@dataclass(frozen=True)
class ParticipantRow:
    """One participant of a course: their figures and, per action, what happens."""

    person_id: str
    name: str
    attendance: str
    passing: str
    cells: list[Cell]


@dataclass(frozen=True)
class Segment:
    """How many of a course's participants are of one kind, and their share."""

    kind: str
    label: str
    count: int
    percent: float


@dataclass(frozen=True)
class ActionSummary:
    """One action over a course's participants: how many of each kind."""

    label: str
    segments: list[Segment]
    linked: bool = True  # False: the action never acts on courses of this type


@dataclass
class CourseSection:
    """A course as the page shows it: its facts, a summary per action, its participants."""

    anchor: str
    id: str
    name: str
    course_type: str
    status: str
    location: str
    dates: str
    end: datetime
    participants: list[ParticipantRow] = field(default_factory=list)
    summaries: list[ActionSummary] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # the labels of the actions it is linked to
    cancelled: int = 0

    @property
    def final(self) -> bool:
        """Is the status `final` (also as exports write it: `Definitief`, ` FINAL `)?"""
        return status_key(self.status) == "final"

    @property
    def enrolled(self) -> int:
        """Participants whose enrollment stands (not cancelled)."""
        return len(self.participants) - self.cancelled


@dataclass
class Report:
    """Everything the page shows, decided at one moment."""

    organisation: str
    generated: str
    zone: str
    window: str
    days: int
    period: str  # "14 days", or "day" for one
    horizon: str
    actions: list[str]
    courses: list[CourseSection]
    problems: list[attention.Problem]
    blocked: list[attention.Blocked]
    forecast: list[outlook.Forecast]
    risks: list[outlook.Risk]
    expiring: list[Expiring]
    expiring_days: int
    expiring_period: str  # "60 days", or "day" for one
    chart: Chart
    totals: dict[str, int]


def _period(days: int) -> str:
    """`the next 14 days`, or `the next day` for one."""
    return locale._("day") if days == 1 else locale._("{count} days").format(count=days)


def action_label(action: Action) -> str:
    """The action as people read it: its `name` without the parts filled in per participant
    (`Certificate [Opleiding:Naam]` reads `Certificate`), else its id in words."""
    title = words.action_title(action.name, "")
    if title:
        return title
    spelled = action.id.replace("-", " ").replace("_", " ").strip()
    return spelled[:1].upper() + spelled[1:]


# -- deciding -------------------------------------------------------------------------------


def _kind(decision: Decision) -> str:
    outcome = decision.outcome
    state = decision.existing.state if decision.existing else None
    if outcome == "done":
        return state if state in ("sent", "failed", "unknown", "expired") else "sent"
    if outcome == "retry_later" or (outcome == "send" and state == "pending"):
        return "retrying"
    if outcome == "send":
        return "due"
    return outcome


def _cell(decision: Decision, kind: str, sent_at: str | None, clock: ReportClock) -> Cell:
    due = decision.due_at
    if kind == "sent":
        moment = clock.moment(from_utc_text(sent_at)) if sent_at else None
    else:
        moment = clock.moment(due) if due else None
    error = decision.existing.last_error if decision.existing else None
    waiting_on = decision.waiting_on if kind in ("waiting", "skipped") else []
    return Cell(
        kind, words.report_kinds()[kind], words.kind_detail(kind, moment, error, waiting_on)
    )


def _requirement_text(decision: Decision) -> tuple[str, str]:
    a, p = decision.attendance, decision.passing
    failed = decision.participant.failed_parts
    return (
        words.attendance_cell(a.present, a.required_parts, a.needed),
        words.pass_cell(p.passed, p.required_parts, failed),
    )


# -- the report -----------------------------------------------------------------------------


def build_report(
    store: Store,
    config: Config,
    now: datetime,
    *,
    days: int = DEFAULT_DAYS,
    expiring_days: int = DEFAULT_EXPIRING_DAYS,
) -> Report:
    """Everything the page shows, decided at `now`; only reads the store."""
    clock = ReportClock(config.tz)
    past = History(store)
    labels = {a.id: action_label(a) for a in config.actions}
    horizon = now + timedelta(days=days)
    first_end = now - timedelta(weeks=HISTORY_WEEKS)
    # delivery problems over the whole log: their courses are shown whatever their dates
    problem_rows = [row for row in past.needing_attention() if row["action"] in labels]
    shown = _shown_courses(store, config, first_end, horizon, problem_rows, clock)
    names = enrolled_names(store.conn, list(shown.sections))
    decisions = _decide(store, config, now, shown, names, labels, clock)
    scope = outlook.Scope(decisions, shown.anchors, labels, now, horizon, clock)
    courses = list(shown.sections.values())
    problems = attention.problems(problem_rows, shown.facts, shown.anchors, labels, past)
    blocked = attention.blocked(scope)
    forecast = outlook.forecast(scope)
    risks = outlook.risks(store.conn, config, scope, names, shown.starts)
    chart = sent_per_week(past, now, clock)
    organisation = parseaddr(config.settings.sender)[0] or parseaddr(config.settings.sender)[1]
    return Report(
        organisation=organisation,
        generated=clock.full(now),
        zone=str(config.settings.timezone or clock.local(now).tzname()),
        window=locale._("courses ending between {first} and {last}").format(
            first=clock.day_year(first_end), last=clock.day_year(horizon)
        ),
        days=days,
        period=_period(days),
        horizon=clock.day(horizon),
        actions=list(labels.values()),
        courses=courses,
        problems=problems,
        blocked=blocked,
        forecast=forecast,
        risks=risks,
        expiring=expiring(store.conn, config, now, expiring_days),
        expiring_days=expiring_days,
        expiring_period=_period(expiring_days),
        chart=chart,
        totals={
            "problems": len(problems),
            "blocked": sum(item.participants for item in blocked),
            "due_soon": sum(item.participants for item in forecast),
            "ready_soon": sum(item.ready for item in forecast),
            "at_risk": len(risks),
            "sent_weeks": chart.total,
            "courses": len(courses),
            "participants": sum(section.enrolled for section in courses),
        },
    )


@dataclass(frozen=True)
class _Shown:
    """The courses the page shows, the latest end first: their sections (in that order),
    anchors and start moments, and the facts of every course."""

    facts: dict[str, Course]
    sections: dict[str, CourseSection]
    anchors: dict[str, str]
    starts: dict[str, datetime | None]


def _shown_courses(
    store: Store,
    config: Config,
    first_end: datetime,
    last_end: datetime,
    problem_rows: list[dict[str, Any]],
    clock: ReportClock,
) -> _Shown:
    """The courses ending in the window, and those with a delivery that needs attention."""
    listed = courses_ending(
        store.conn, first_end, last_end, {row["course"] for row in problem_rows}
    )
    details = {listing.course_id: listing for listing in listed}
    facts = course_facts(store.conn, config)
    ordered = sorted(
        (facts[course_id] for course_id in details if course_id in facts),
        key=lambda course: (course.end, course.id),
        reverse=True,
    )
    anchors = {course.id: f"course-{index}" for index, course in enumerate(ordered, start=1)}
    sections: dict[str, CourseSection] = {}
    for course in ordered:
        listing = details[course.id]
        sections[course.id] = CourseSection(
            anchor=anchors[course.id],
            id=course.id,
            name=course.name,
            course_type=course.course_type or "",
            status=course.status,
            location=listing.location,
            # a date-only end is stored as midnight after it: show the day itself
            dates=clock.span(
                listing.start,
                course.end - timedelta(seconds=1) if listing.end_is_date else course.end,
            ),
            end=course.end,
        )
    starts = {course.id: details[course.id].start for course in ordered}
    return _Shown(facts, sections, anchors, starts)


def _decide(
    store: Store,
    config: Config,
    now: datetime,
    shown: _Shown,
    names: dict[str, str],
    labels: dict[str, str],
    clock: ReportClock,
) -> list[tuple[Decision, str]]:
    """Every participant of the shown courses decided per action, as `run-due` would."""
    log = DeliveryLookup(store)
    recorded = log.recorded_since()
    since = {a.id: effective_since(config, a, recorded, now) for a in config.actions}
    planner = Planner(config, now, since)
    if any(a.timing.renews for a in config.actions):
        planner.renewals = Renewals(store.conn, config.actions, config.actions, now, everyone=True)
    logged = log.of_courses([a.id for a in config.actions], list(shown.sections))
    return _judge(_Judging(store, config, planner, shown, logged, names, labels, clock))


@dataclass(frozen=True)
class _Judging:
    """What judging the shown courses reads: the planner, what the log holds of their
    deliveries (with when each was sent), the participants' names and the actions' labels."""

    store: Store
    config: Config
    planner: Planner
    shown: _Shown
    logged: dict[Key, tuple[ExistingDelivery, str | None]]
    names: dict[str, str]
    labels: dict[str, str]
    clock: ReportClock


def _judge(judging: _Judging) -> list[tuple[Decision, str]]:
    """Decide every participant of the shown courses per action; fill in their sections."""
    config, planner, logged = judging.config, judging.planner, judging.logged
    facts, sections = judging.shown.facts, judging.shown.sections
    names, labels, clock = judging.names, judging.labels, judging.clock
    decisions: list[tuple[Decision, str]] = []
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    rows_by_course: dict[str, list[tuple[str, ParticipantRow]]] = defaultdict(list)
    chosen = config.actions
    # registration moments only when an anchor needs them (as the planner reads them)
    with_times = any(a.timing.after == "requirements_met" for a in chosen)
    for participant in participants(
        judging.store.conn, config, course_ids=list(sections), with_times=with_times
    ):
        course = facts[participant.course_id]
        cells = []
        first: Decision | None = None
        for action in chosen:
            key = (action.id, course.id, participant.person_id)
            existing, sent_at = logged.get(key, (None, None))
            decision = planner.decide(action, course, participant, existing)
            kind = _kind(decision)
            if kind == "not_linked":
                continue  # this action never acts on courses of this type: no column
            cells.append(_cell(decision, kind, sent_at, clock))
            counts[(course.id, action.id)][kind] += 1
            decisions.append((decision, kind))
            first = first or decision
        name = names.get(participant.person_id, participant.person_id)
        attendance, passing = _requirement_text(first) if first else ("—", "—")
        row = ParticipantRow(participant.person_id, name, attendance, passing, cells)
        rows_by_course[course.id].append((name.casefold(), row))
        if participant.status == "cancelled":
            sections[course.id].cancelled += 1

    for course_id, section in sections.items():
        section.participants = [row for _, row in sorted(rows_by_course[course_id], key=_first)]
        for action in chosen:
            if not action.links(section.course_type or None):
                section.summaries.append(ActionSummary(labels[action.id], [], linked=False))
                continue
            section.actions.append(labels[action.id])
            tally = counts[(course_id, action.id)]
            total = sum(tally.values()) or 1
            section.summaries.append(
                ActionSummary(
                    labels[action.id],
                    [
                        Segment(kind, label, tally[kind], 100 * tally[kind] / total)
                        for kind, label in words.report_kinds().items()
                        if tally[kind]
                    ],
                )
            )
    return decisions


def _first(item: tuple[str, ParticipantRow]) -> tuple[str, str]:
    return item[0], item[1].person_id


# -- the page -------------------------------------------------------------------------------


def render_report(report: Report) -> str:
    """The report as one HTML page: autoescaped, inline CSS and SVG, nothing fetched."""
    environment = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    # the page's words come from the catalogues, like every text shown (see babel.cfg)
    environment.globals.update(_=locale._, ngettext=locale.ngettext, lang=locale.language())
    source = files("certify.report").joinpath("page.html.j2").read_text(encoding="utf-8")
    return environment.from_string(source).render(report=report, kinds=words.report_kinds())
