"""Every sentence people read about a decision and about a delivery's state.

The planner, `explain`, the dry run's summary and the report say what happens to a
participant, and why, in the words of this module only, so that the same fact reads the
same everywhere. Each sentence goes through `_()`, so `make catalogues` lists it in the
message catalogues of `certify.locale` and is shown in the administrator's language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from certify.locale import LANGUAGES, N_, _, in_language, ngettext

# a merge field ([Opleiding:Naam]) or a Jinja2 expression, and what joins it to the rest
_FILLED_IN = re.compile(r"\s*[-–—:,/|·]?\s*(\[[A-Za-z]+:[A-Za-z-]+\]|\{\{.*?\}\}|\{%.*?%\})")


@lru_cache(maxsize=256)
def action_title(name: str, action_id: str) -> str:
    """An action as people read it in a line that names the course and person already: its
    `name` without the parts filled in per participant (`Certificate [Opleiding:Naam] -
    [Persoon:NaamVolledig]` reads `Certificate`); its id when nothing else is left."""
    title = _FILLED_IN.sub("", name).strip(" -–—:,/|·")
    return " ".join(title.split()) or action_id


# -- why a decision waits ---------------------------------------------------------------


def fixed_reason(outcome: str) -> str | None:
    """What a decision waits on when its outcome alone says it; None for other outcomes."""
    if outcome == "cancelled":
        return _("enrollment cancelled")
    if outcome == "manual":
        return _("manual action: sent only by `certify send`")
    if outcome == "not_due":
        return _("not yet due")
    if outcome == "retry_later":
        return _("retry after a temporary failure")
    return None


def not_linked(linked_types: Sequence[str] | None, course_type: str | None) -> str:
    """Why an action does nothing for a course: its type is not one the action is linked to."""
    linked = ", ".join(linked_types or [])
    if course_type is None:
        return _("the course has no course type; this action is linked to {linked} only").format(
            linked=linked
        )
    return _("course type {course_type} is not linked to this action (linked: {linked})").format(
        course_type=course_type, linked=linked
    )


def status_unmet(status: str, wanted: Sequence[str]) -> str:
    """The course's status is not one the action waits for."""
    return _("course status {status!r}, needs {wanted}").format(
        status=status, wanted=_(" or ").join(wanted)
    )


def attendance_short(present: int, total: int, needed: int) -> str:
    """Too few required parts attended (a reason to wait, and the report's shortfall)."""
    return _("attendance: present {present} of {total}, needs {needed}").format(
        present=present, total=total, needed=needed
    )


def attendance_met_unwanted() -> str:
    """An action for those who do not meet the attendance requirement, and they do."""
    return _("attendance requirement met (action is for not_met)")


def pass_failed(failed: int, total: int) -> str:
    """A required part failed: a reason to wait."""
    return _("pass: failed {failed} of {total}").format(failed=failed, total=total)


def pass_no_result(passed: int, total: int) -> str:
    """Not every required part passed, and none failed: results are still to come."""
    return _("pass: passed {passed} of {total}, no result yet").format(passed=passed, total=total)


def pass_short(passed: int, total: int, failed: int) -> str:
    """The report's shortfall of passes, with the failed parts when there are any."""
    if failed:
        return _("pass: passed {passed} of {total}, failed {failed}").format(
            passed=passed, total=total, failed=failed
        )
    return _("pass: passed {passed} of {total}").format(passed=passed, total=total)


def pass_met_unwanted() -> str:
    """An action for those who do not meet the pass requirement, and they do."""
    return _("pass requirement met (action is for not_met)")


# -- a decision explained, line by line ----------------------------------------------------


def outcome_meaning(state: str) -> str:
    """What a decision's outcome, or a delivery's logged state, means for the participant."""
    meanings = {
        "send": _("due now: would be sent by the next run"),
        "waiting": _("waiting on a condition"),
        "not_due": _("not yet due"),
        "skipped": _("skipped: due before the action's `since` (no mailing of history)"),
        "expired": _("expired: due longer ago than expire_after"),
        "retry_later": _("pending: retry after a temporary failure"),
        "manual": _("manual action: sent only by `certify send`"),
        "cancelled": _("enrollment cancelled: nothing is sent"),
        "not_linked": _("nothing is sent for courses of this type"),
    }
    # a logged state (sent, failed, unknown, ...) means what its word says
    return meanings.get(state) or state_word(state)


def skipped_because(reason: str) -> str:
    """What a skipped delivery means when it was skipped for a reason of its own (a renewal
    reminder of a revoked certificate, say), not as history before `since`."""
    return _("skipped: {reason}").format(reason=reason)


def skipped_line(title: str, course: str, person: str, reason: str) -> str:
    """A run's line for a delivery it skipped for a reason of its own."""
    return _("skipped: {title} {course}/{person}: {reason}").format(
        title=title, course=course, person=person, reason=reason
    )


def due_line(due: str | None, offset: int, unit: str, anchor: str, at: str | None) -> str:
    """`due: 2026-11-13 09:00 CET (1 day after course end, at 09:00)`."""
    anchor = _anchor_word(anchor)
    if due is None:
        return _("due: not yet known (waits for {anchor})").format(anchor=anchor)
    timing = _("{span} after {anchor}").format(span=span(offset, unit), anchor=anchor)
    return _due_at(due, timing, at)


def expiry_due_line(due: str | None, offset: int, unit: str, of: str, at: str | None) -> str:
    """`due: 2027-09-24 09:00 CEST (6 weeks before certificate expiry of bhv, at 09:00)`."""
    if due is None:
        return _("due: not yet known (no certificate of {of})").format(of=of)
    timing = _("{span} before certificate expiry of {of}").format(span=span(offset, unit), of=of)
    return _due_at(due, timing, at)


def _due_at(due: str, timing: str, at: str | None) -> str:
    if at:
        timing += _(", at {at}").format(at=at)
    return _("due: {due} ({timing})").format(due=due, timing=timing)


def span(count: int, unit: str) -> str:
    """`1 day`, `3 weeks`: an action's offset in the language shown."""
    spans = {
        "hours": lambda: ngettext("{count} hour", "{count} hours", count),
        "days": lambda: ngettext("{count} day", "{count} days", count),
        "weeks": lambda: ngettext("{count} week", "{count} weeks", count),
        "months": lambda: ngettext("{count} month", "{count} months", count),
        "years": lambda: ngettext("{count} year", "{count} years", count),
    }
    found = spans.get(unit)
    return found().format(count=count) if found else f"{count} {unit}"


def _anchor_word(anchor: str) -> str:
    """What an action's timing counts from (`after: course_end`), in the language shown."""
    anchors = {
        "course_end": _("course end"),
        "requirements_met": _("requirements met"),
        "participant_added": _("participant added"),
    }
    return anchors.get(anchor, anchor.replace("_", " "))


def status_line(status: str, wanted: Sequence[str] | None, ok: bool) -> str:
    """The course's status, and whether the action accepts it."""
    if not wanted:
        return _("course status {status!r} (any status)").format(status=status)
    return _("course status {status!r}, needs {wanted}: {verdict}").format(
        status=status, wanted=_(" or ").join(wanted), verdict=_("ok") if ok else _("NOT MET")
    )


def attendance_line(
    present: int, total: int, percentage: int | None, threshold: int, needed: int, verdict: str
) -> str:
    """The attendance figures in full, and what the action makes of them."""
    if not total:
        figures = _("no attendance requirement")
    else:
        figures = _(
            "present {present} of {total} required parts ({percentage} %), "
            "needs {threshold} % = {needed}"
        ).format(
            present=present, total=total, percentage=percentage, threshold=threshold, needed=needed
        )
    return _("attendance: {figures}: {verdict}").format(figures=figures, verdict=verdict)


def pass_line(passed: int, total: int, failed: int, verdict: str) -> str:
    """The pass figures in full, and what the action makes of them."""
    if not total:
        figures = _("no pass requirement")
    elif failed:
        figures = _("passed {passed} of {total} required parts, failed {failed}").format(
            passed=passed, total=total, failed=failed
        )
    else:
        figures = _("passed {passed} of {total} required parts").format(passed=passed, total=total)
    return _("pass: {figures}: {verdict}").format(figures=figures, verdict=verdict)


def condition_verdict(check: str, met: bool) -> str:
    """Whether a requirement is met, as the action's condition (`yes`, `no`, `not_met`) reads it."""
    word = _("met") if met else _("not met")
    if check == "no":
        return _("{word} (not checked by this action)").format(word=word)
    if check == "not_met":
        return _("{word} (this action wants it not met: {verdict})").format(
            word=word, verdict=_("ok") if not met else _("NOT OK")
        )
    return _("met") if met else _("NOT MET")


def covers_line(since: str) -> str:
    """From when an action's deliveries count (its `since`)."""
    return _("covers deliveries due from {since}").format(since=since)


def waits_line(reason: str) -> str:
    """One reason a decision waits, as a line of `explain`."""
    return _("waits: {reason}").format(reason=reason)


def sent_line(sent_at: str, certificate: str | None) -> str:
    """When a delivery was sent, with its certificate's number when one was made."""
    if certificate:
        return _("sent at {sent_at}, certificate {number}").format(
            sent_at=sent_at, number=certificate
        )
    return _("sent at {sent_at}").format(sent_at=sent_at)


def message_id_line(message_id: str) -> str:
    """The Message-ID a sent delivery carried."""
    return _("Message-ID {message_id}").format(message_id=message_id)


def last_error_line(error: str) -> str:
    """The last error a delivery met."""
    return _("last error: {error}").format(error=error)


def settle_line(settle: str) -> str:
    """What settles a delivery, as a line of `explain`."""
    return _("settle: {settle}").format(settle=settle)


# written by `certify.deliver.wording.not_sent`, in the language shown then
NOT_SENT = N_("not sent: {reason}")


def was_held(last_error: str) -> bool:
    """Was this error written by `not_sent`, in whichever language it was shown then?"""
    return any(
        last_error.startswith(in_language(lang, NOT_SENT).split("{", 1)[0]) for lang in LANGUAGES
    )


def settling(state: str, command: str | None, last_error: str | None) -> str | None:
    """What settles a delivery in this state, in words around the command, if it needs it."""
    if state in ("pending", "retry_later", "send") and not last_error:
        return None  # nothing went wrong: it simply goes with the next run
    if last_error and was_held(last_error):
        return _("fix the template (certify validate --db ...); the next run sends it")
    if command is None:
        return None
    if state == "failed":
        return _("fix the cause, then: {command}").format(command=command)
    if state == "unknown":
        return _("check the mail server's log, then: {command}").format(command=command)
    if state == "expired":
        return _("to send it anyway: {command}").format(command=command)
    return _("the next runs retry it; to try now: {command}").format(command=command)


# -- a delivery's state -------------------------------------------------------------------


def certificate_state_word(state: str) -> str:
    """A certificate's state as people read it; `--state` takes the English word."""
    words = {
        "valid": _("valid"),
        "expired": _("expired"),
        "revoked": _("revoked"),
        "superseded": _("superseded"),
        "withdrawn": _("withdrawn"),
    }
    return words.get(state, state)


def certificate_source_word(source: str) -> str:
    """Where a certificate of the register came from: issued by certify, or imported."""
    words = {"issued": _("issued"), "imported": _("imported")}
    return words.get(source, source)


# a delivery's states (and a run's other figures) as people read them, translated when shown
_STATE_WORDS = {
    "sent": N_("sent"),
    "failed": N_("failed"),
    "pending": N_("pending"),
    "unknown": N_("unknown"),
    "skipped": N_("skipped"),
    "expired": N_("expired"),
    "claimed": N_("claimed"),
    "sending": N_("sending"),
    "held": N_("held"),
    "forced": N_("forced"),  # an event of a delivery's history: sent again with --force
    "would send": N_("would send"),
    "would fail": N_("would fail"),
    # a run's other figures, as `status` lists them
    "retry_later": N_("retry later"),
    "waiting": N_("waiting on conditions"),
    "not_due": N_("not yet due"),
    "unreachable": N_("unreachable"),
    "would_send": N_("would send"),
}


def state_word(state: str) -> str:
    """A delivery's state (or a result's, in a run) as people read it; the state names that
    commands take (`--state failed`) stay as they are."""
    word = _STATE_WORDS.get(state)
    return state if word is None else _(word)


# -- the report's words --------------------------------------------------------------------


def report_kinds() -> dict[str, str]:
    """What happens to one (action, participant), in a manager's words, in the order shown."""
    return {
        "sent": _("Sent"),
        "due": _("Due now"),
        "retrying": _("Retrying"),
        "not_due": _("Not yet due"),
        "waiting": _("Waiting"),
        "manual": _("Manual"),
        "failed": _("Failed"),
        "unknown": _("Unclear"),
        "expired": _("Expired"),
        "skipped": _("Skipped"),
        "cancelled": _("Cancelled"),
    }


def kind_detail(kind: str, moment: str | None, error: str | None, waiting_on: Sequence[str]) -> str:
    """The small print under a kind on the report: when, or why.

    `moment` is the sending moment of a sent delivery, else the due moment.
    """
    if kind == "sent":
        return moment or ""
    if kind == "waiting":
        return "; ".join(waiting_on)
    if kind == "not_due":
        return _("due {moment}").format(moment=moment) if moment else ""
    if kind == "due":
        return _("since {moment}; goes with the next run").format(moment=moment) if moment else ""
    if kind in ("retrying", "failed"):
        return error or ""
    if kind == "unknown":
        return _("the mail server went silent: check whether it arrived")
    if kind == "skipped":  # a reason of its own (a revoked certificate), else history
        return "; ".join(waiting_on) or _("due before the action was switched on")
    if kind == "expired":
        return _("due too long ago to send")
    if kind == "manual":
        return _("sent only by hand")
    return ""


def attendance_cell(present: int, total: int, needed: int) -> str:
    """A participant's attendance in the report's table: `3 of 4 (needs 3)`."""
    if not total:
        return "—"
    return _("{present} of {total} (needs {needed})").format(
        present=present, total=total, needed=needed
    )


def pass_cell(passed: int, total: int, failed: int) -> str:
    """A participant's passes in the report's table: `1 of 2 (failed 1)`."""
    if not total:
        return "—"
    if failed:
        return _("{passed} of {total} (failed {failed})").format(
            passed=passed, total=total, failed=failed
        )
    return _("{passed} of {total}").format(passed=passed, total=total)


def problem_state(state: str) -> str:
    """A delivery state as the report's list of problems names it."""
    if state == "pending":
        return _("retrying")
    if state == "unknown":
        return _("unclear")
    return state


def silent_server() -> str:
    """Why a delivery is unclear when the log holds no error."""
    return _("the mail server went silent after receiving the message")


def status_blocks(status: str, wanted: Sequence[str]) -> str:
    """A course whose status holds back what is due (the report's list)."""
    return _("status is '{status}'; needs '{wanted}'").format(
        status=status, wanted=_(" or ").join(wanted)
    )


def status_must_become(status: str, wanted: Sequence[str]) -> str:
    """The forecast's note on a course whose status must change before anything goes."""
    return _("course status is '{status}'; it must become '{wanted}'").format(
        status=status, wanted=_(" or ").join(wanted)
    )


def risk_verdict(verdict: str) -> str:
    """Whether a participant at risk can still meet the requirements, in words."""
    if verdict == "impossible":
        return _("No longer possible")
    if verdict == "retake":
        return _("Only with a retake")
    return _("Still possible")


def risk_due(moment: str | None, overdue: bool) -> str:
    """When the deliveries a participant at risk would get fall due."""
    if moment is None:
        return _("when the requirements are met")
    if overdue:
        return _("due since {moment}").format(moment=moment)
    return _("due {moment}").format(moment=moment)


def forecast_due(moment: str, overdue: bool) -> str:
    """When the forecast's deliveries fall due."""
    if overdue:
        return _("now (due since {moment})").format(moment=moment)
    return moment


def open_parts(parts: Sequence[str], what: str) -> str:
    """Parts still open for a participant at risk; a course of many modules in short."""
    if len(parts) > 3:  # the first two say enough
        return _("{what}: {count} parts ({first}, {second} and {more} more)").format(
            what=what, count=len(parts), first=parts[0], second=parts[1], more=len(parts) - 2
        )
    return _("{what}: {parts}").format(what=what, parts=", ".join(parts))


def parts_to_come() -> str:
    """Required parts still to come."""
    return _("still to come")


def parts_unregistered() -> str:
    """Past required parts without an attendance registration."""
    return _("attendance not registered yet")


def results_missing() -> str:
    """Required parts without a result."""
    return _("no result yet")


def nothing_open() -> str:
    """A participant at risk with nothing left to register."""
    return _("nothing left to register")
