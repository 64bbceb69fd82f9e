"""What a run did, or a dry run would do: per delivery and in sum, for summaries, log lines
and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property, lru_cache
from json.encoder import encode_basestring  # json.dumps's own (in C) for ensure_ascii=False
from typing import TYPE_CHECKING, Any

from certify.clock import to_utc_text
from certify.errors import EXIT_INPUT, EXIT_NOT_ACCEPTED
from certify.locale import _, ngettext
from certify.words import state_word

if TYPE_CHECKING:
    from collections.abc import Iterator

    from certify.decide.plan import Listed, Plan


@dataclass(slots=True)
class DeliveryResult:
    """The result of one delivery in a run: what happened to it, or, in a dry run, what would."""

    action: str
    course: str
    person: str
    name: str | None
    email: str | None
    state: str
    due_at: str | None
    subject: str | None = None
    message_id: str | None = None
    certificate_number: str | None = None
    error: str | None = None
    connection: bool = False  # the server could not be reached at all
    title: str | None = None  # the action as people read it (its name), else its id

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "course": self.course,
            "person": self.person,
            "name": self.name,
            "email": self.email,
            "state": self.state,
            "due_at": self.due_at,
            "subject": self.subject,
            "message_id": self.message_id,
            "certificate_number": self.certificate_number,
            "error": self.error,
        }

    def who(self) -> str:
        """The delivery and its person, as a log line names them."""
        name = f" {self.name}" if self.name else ""
        return f"{self.title or self.action} {self.course}/{self.person}{name} <{self.email or ''}>"

    def line(self) -> str:
        """The plain log line of this delivery."""
        text = f"{state_word(self.state)}: {self.who()}"
        return f"{text}: {self.error}" if self.error else text

    def problem_line(self) -> str:
        """A configuration problem with the participant it showed on."""
        return _(
            "{error} (participant {participant}; action {action} stopped, "
            "its deliveries stay pending until the template is fixed)"
        ).format(
            error=self.error,
            participant=f"{self.course}/{self.person}{' ' + self.name if self.name else ''}",
            action=self.title or self.action,
        )


@dataclass
class RunReport:
    """What a run did (or a dry run would do), for the summary, the log lines and JSON."""

    now: datetime
    dry_run: bool
    sent: int = 0  # in a dry run: would be sent
    failed: int = 0
    pending: int = 0  # attempted in this run and kept for a retry
    unknown: int = 0
    retry_later: int = 0  # not attempted: waiting out the back-off of an earlier failure
    held: int = 0  # not attempted: their action stopped on a configuration problem
    skipped: int = 0
    unreachable: int = 0  # attempts that could not reach the mail server at all
    expired: int = 0
    waiting: int = 0
    not_due: int = 0
    stopped: str | None = None
    judged_all: bool = True  # False: --limit was reached before every participant was judged
    problems: list[str] = field(default_factory=list)  # configuration problems, located
    warnings: list[str] = field(default_factory=list)  # settings that match nothing in the data
    results: list[DeliveryResult] = field(default_factory=list)
    # a dry run that only lists: each delivery that would be sent, by its key, made into a
    # `DeliveryResult` only when shown as text (see `shown`), after `results`
    listed: list[Listed] = field(default_factory=list)
    plan: Plan | None = None
    # dry run: actions no real run has switched on, taken as switched on at this moment
    switched_on: dict[str, datetime] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # action id → as people read it

    @cached_property
    def waiting_on(self) -> dict[str, int]:
        """How many participants wait on each reason, most first; worded only when asked,
        so that a quiet run that shows nothing reads no catalogue."""
        if self.plan is None:
            return {}
        return dict(self.plan.waiting_summary().most_common())

    def waiting_shown(self) -> dict[str, int]:
        """`waiting_on` with each action as people read it (its name), for the text output;
        `waiting_on` keeps the ids for --json."""
        shown: dict[str, int] = {}
        for reason, count in self.waiting_on.items():
            action, _colon, why = reason.partition(": ")
            said = f"{self.titles.get(action, action)}: {why}"
            shown[said] = shown.get(said, 0) + count
        return shown

    @property
    def not_accepted(self) -> bool:
        """A delivery attempted in this run was not accepted, or the run stopped early."""
        return bool(self.failed or self.pending or self.unknown or self.stopped)

    @property
    def exit_code(self) -> int:
        """1 for a configuration problem, 3 when an attempted delivery was not accepted."""
        if self.problems:
            return EXIT_INPUT
        if self.not_accepted and not self.dry_run:
            return EXIT_NOT_ACCEPTED
        return 0

    @property
    def ending(self) -> str:
        """How the run ended, in the words of the run record."""
        if self.problems:
            return "problems"
        return "not accepted" if self.not_accepted else "ok"

    @property
    def detail(self) -> str | None:
        """The first problem, or why the run stopped."""
        return self.problems[0] if self.problems else self.stopped

    def counts(self) -> dict[str, int]:
        """The figures of the run, by name."""
        return {
            ("would_send" if self.dry_run else "sent"): self.sent,
            "failed": self.failed,
            "pending": self.pending,
            "unknown": self.unknown,
            "retry_later": self.retry_later,
            "held": self.held,
            "skipped": self.skipped,
            "expired": self.expired,
            "waiting": self.waiting,
            "not_due": self.not_due,
        }

    def summary(self) -> str:
        """The run's figures in one line, as the run prints them last."""
        figures = (_("would send {sent}") if self.dry_run else _("sent {sent}")).format(
            sent=self.sent
        )
        text = _(
            "{figures}, failed {failed}, pending {pending}, unknown {unknown}, "
            "skipped {skipped}, expired {expired}; waiting on conditions {waiting}, "
            "not yet due {not_due}"
        ).format(
            figures=figures,
            failed=self.failed,
            pending=self.pending,
            unknown=self.unknown,
            skipped=self.skipped,
            expired=self.expired,
            waiting=self.waiting,
            not_due=self.not_due,
        )
        if self.retry_later:
            text += _(", retry later {count}").format(count=self.retry_later)
        if self.held:
            text += _("; held back by a template problem {count}").format(count=self.held)
        if not self.judged_all:
            text += _(" (judged until --limit was reached; the rest waits for the next run)")
        return text

    def shown(self) -> list[DeliveryResult]:
        """Every delivery of the run, the listed ones made into results too."""
        titles = self.titles
        listed = [
            DeliveryResult(
                action_id, course_id, person_id, None, None, "would send",
                due_text(due_at) if due_at else None, title=titles.get(action_id),
            )
            for action_id, course_id, person_id, due_at in self.listed
        ]  # fmt: skip
        return self.results + listed if listed else self.results

    def deliveries_json(self) -> Iterator[str]:
        """The JSON text of `as_json`'s deliveries, in pieces made as they are read: the
        listed ones straight from their keys, as a 200,000-delivery dry run would spend
        seconds on objects each, and hundreds of MB on the text held whole."""
        made = [d.as_json() for d in self.results]
        text = json.dumps(made, ensure_ascii=False, default=str, check_circular=False)
        if not self.listed:
            yield text
            return
        yield f"{text[:-1]}, " if made else "["
        yield from would_send_json(self.listed)
        yield "]"

    def as_json(self, deliveries: Any = None) -> dict[str, Any]:
        """The report for --json; `deliveries` in place of the list of dicts (its text, say)."""
        if deliveries is None:
            deliveries = [d.as_json() for d in self.shown()]
        return {
            "now": to_utc_text(self.now),
            "dry_run": self.dry_run,
            **self.counts(),
            "stopped": self.stopped,
            "judged_all": self.judged_all,
            "problems": self.problems,
            "warnings": self.warnings,
            "waiting_on": self.waiting_on,
            # dry run: the actions taken as switched on at this moment (real time, UTC)
            "switched_on": {key: to_utc_text(at) for key, at in self.switched_on.items()},
            "deliveries": deliveries,
        }


# -- what a run says as it goes: worded where shown, each in the administrator's language ---


def history_skipped(count: int) -> str:
    """The log line of a run that recorded history as skipped."""
    return ngettext(
        "skipped {count} delivery due before the action's `since` "
        "(no mailing of history; set `since:` to include it on purpose)",
        "skipped {count} deliveries due before the action's `since` "
        "(no mailing of history; set `since:` to include it on purpose)",
        count,
    ).format(count=count)


def stopped_by_signal() -> str:
    """Why a run stopped when it was asked to."""
    return _("stopped by SIGTERM; the rest waits for the next run")


def stopped_unreachable(count: int) -> str:
    """Why a run stopped when the mail server could not be reached, time after time."""
    return _(
        "stopped after {count} connection failures in a row; the rest stays pending for the "
        "next run"
    ).format(count=count)


def stopped_silent(count: int) -> str:
    """Why a run stopped when the server went silent after message after message."""
    return _(
        "stopped after {count} messages in a row whose delivery is unknown (the server went "
        "silent after the data); the rest stays pending for the next run"
    ).format(count=count)


@lru_cache(maxsize=4096)
def due_text(moment: datetime) -> str:
    """A due moment as the log and --json give it (deliveries share few: each made once)."""
    return to_utc_text(moment)


def list_would_send(due: list[Listed], report: RunReport) -> None:
    """A dry run that only judges: each delivery that would be sent, by its key, without
    an object each (200,000 of them in a large backlog)."""
    report.listed.extend(due)
    report.sent += len(due)


@cache
def _would_send_template() -> list[str]:
    """`DeliveryResult.as_json` of a delivery that would be sent, as JSON text in the five
    pieces around its action, course, person and due moment: the same keys, the same order."""
    marks = ("\x00action", "\x00course", "\x00person", "\x00due")
    sample = DeliveryResult(*marks[:3], None, None, "would send", marks[3])
    text = json.dumps(sample.as_json(), ensure_ascii=False)
    for mark in marks:
        text = text.replace(encode_basestring(mark), "\x00")
    return text.split("\x00")


def would_send_json(listed: list[Listed], *, chunk: int = 5000) -> Iterator[str]:
    """The listed deliveries as `DeliveryResult.as_json` would give each, as JSON text,
    comma-separated (without the brackets of the list), `chunk` deliveries a piece: each
    value encoded as json.dumps encodes it, the text up to the person made once per
    action and course."""
    start, after_action, after_course, after_person, end = _would_send_template()
    heads: dict[tuple[str, str], str] = {}
    dues: dict[datetime | None, str] = {}
    for first in range(0, len(listed), chunk):
        pieces: list[str] = []
        append = pieces.append
        for action_id, course_id, person_id, due_at in listed[first : first + chunk]:
            head = heads.get((action_id, course_id))
            if head is None:
                action, course = encode_basestring(action_id), encode_basestring(course_id)
                head = heads[action_id, course_id] = (
                    f"{start}{action}{after_action}{course}{after_course}"
                )
            due = dues.get(due_at)
            if due is None:
                due = dues[due_at] = encode_basestring(due_text(due_at)) if due_at else "null"
            append(f"{head}{encode_basestring(person_id)}{after_person}{due}{end}")
        yield ", ".join(pieces) if first == 0 else ", " + ", ".join(pieces)
