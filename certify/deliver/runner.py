"""The run: the loop over what is due and the transport calls (SIGTERM and recovery are
`interruption.py`, the lock `store/lock.py`).

Every state change goes through the delivery log (`log.py`) as its own short
transaction; none is held open across network I/O. The claim is committed before a message
is handed over and the result right after, so a crash at any point leaves a row that the
next run recovers without sending twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from certify.config import Action, Config
from certify.decide.decisions import Decision
from certify.decide.facts import unmatched_settings
from certify.decide.plan import Plan, make_plan
from certify.deliver import results, runs
from certify.deliver.interruption import Stop, recover
from certify.deliver.log import Claim, DeliveryLog
from certify.deliver.lookup import DeliveryLookup, Key
from certify.deliver.outbox import safe_file_name
from certify.deliver.results import DeliveryResult, RunReport
from certify.deliver.state import DeliveryState
from certify.deliver.transports import (
    AmbiguousFailure,
    ConnectionFailure,
    PermanentFailure,
    TemporaryFailure,
    Transport,
)
from certify.deliver.wording import not_sent
from certify.errors import EXIT_INPUT
from certify.inspect.history import History
from certify.locale import _
from certify.store.database import Store
from certify.words import action_title, skipped_line

if TYPE_CHECKING:  # rendering is imported when the first message is made: a cron tick with
    # nothing due never loads Jinja2, Babel or ReportLab
    from certify.register.signing import Signing
    from certify.render.context import DeliveryContexts, DeliveryRef
    from certify.render.message import Mail
    from certify.render.templates import Templates

IN_A_ROW_TO_STOP = 3  # connection failures, or deliveries of unknown fate, in a row stop a run
CLAIM_BATCH = 32  # claims committed together; a stopped run hands back what it did not try


def _unlogged(line: str) -> None:
    pass


class Runner:
    """One run at one moment: plans, then claims, renders, hands over and records."""

    def __init__(
        self,
        store: Store,
        config: Config,
        templates: Templates | None,
        now: datetime,
        *,
        log: Callable[[str], None] | None = None,
        switch_on: datetime | None = None,
        quiet: bool = False,
    ) -> None:
        """`templates` None: they are compiled (and checked) before the first message.
        `switch_on`: a dry run's real time, from which an action not yet switched on counts.
        `quiet` leaves routine lines (history recorded as skipped) out of the log."""
        self.store = store
        self.switch_on = switch_on
        self.config = config
        self._templates = templates
        self.now = now
        self.log = log or _unlogged
        self._logging = log is not None  # a line per delivery is made only to be logged
        self.quiet = quiet
        self.deliveries = DeliveryLog(store, now)
        self._contexts: DeliveryContexts | None = None
        self._signing: Signing | None = None
        self._signing_opened = False
        self._opened: Transport | None = None

    @property
    def templates(self) -> Templates:
        """The compiled templates; every problem in them stops the run before any claim."""
        if self._templates is None:
            from certify.render.templates import Templates

            self._templates = Templates.checked(self.config)
        return self._templates

    def ready(self) -> None:
        """Compile and check the templates and open the signing key now: a problem in either
        stops the run before a claim."""
        if self._templates is None:
            self._templates = self.templates
        if any(action.attachments for action in self.config.actions):
            self._signing_ready()

    def _signing_ready(self) -> Signing | None:
        """The key that signs certificates (`certificates.sign`), opened once per run."""
        if not self._signing_opened:
            from certify.register.signing import open_signing

            self._signing = open_signing(self.config)
            self._signing_opened = True
        return self._signing

    @property
    def contexts(self) -> DeliveryContexts:
        """Reads each delivery's template context, only what the templates use."""
        if self._contexts is None:
            from certify.render.context import DeliveryContexts

            self._contexts = DeliveryContexts(self.store.conn, self.config, self.templates.needs)
        return self._contexts

    def _result(self, decision: Decision, state: str) -> DeliveryResult:
        return DeliveryResult(
            title=action_title(decision.action.name, decision.action.id),
            action=decision.action.id,
            course=decision.course.id,
            person=decision.participant.person_id,
            name=None,
            email=None,
            state=state,
            due_at=results.due_text(decision.due_at) if decision.due_at else None,
        )

    def _render(
        self, decision: Decision, delivery: DeliveryRef, result: DeliveryResult, keep: bool = False
    ) -> Mail:
        """The message, with the person's name and address noted on the result; with `keep`,
        its certificate is noted for the register."""
        from certify.render.compose import render_message

        context = self.contexts.read(decision, delivery, self.now)
        result.name = context["person"]["full_name"]
        result.email = context["person"]["email"]
        mail = render_message(
            self.templates,
            decision.action,
            context,
            message_id=delivery.message_id,
            sent_at=self.now.astimezone(self.config.tz),
            signing=self._signing_ready() if decision.action.attachments else None,
        )
        result.subject = mail.subject
        if keep and mail.certificate is not None:
            from certify.register.printed import kept_certificate

            locale = self.config.settings.locale
            self.deliveries.certificates.note(kept_certificate(context, mail.certificate, locale))
        return mail

    def _open(self, transport: Transport) -> None:
        """Connect on the first message only: a run with nothing to send opens nothing."""
        if self._opened is transport:
            return
        self._opened = transport
        try:
            transport.open()
        except ConnectionFailure as exc:
            # unreachable is temporary: each delivery records it, and 3 in a row stop the run
            self.log(_("cannot reach the mail server yet: {reason}").format(reason=exc.reason))

    def close(self) -> None:
        """Record what is noted, and close the transport if this run opened it."""
        if self._opened is not None:
            self._record(self._opened)
            self._opened.close()
            self._opened = None

    def deliver(
        self,
        decision: Decision,
        transport: Transport,
        *,
        forced_reason: str | None = None,
        replacing: tuple[Key, str] | None = None,
    ) -> DeliveryResult:
        """Claim, render, hand over and record one delivery (for `certify send`); `replacing`
        (key, number): a re-issue, logged under its own key, replacing that certificate."""
        self.ready()
        self._open(transport)
        decided = decision.decided()
        decided = decided._replace(key=replacing[0]) if replacing else decided
        claim = self.deliveries.claim(decided, self.config.settings.sender)
        message_id = None
        if forced_reason:
            # a re-send is a new message to mail servers, which drop repeated Message-IDs
            message_id = re.sub(
                r"(\.r\d+)?@", f".r{int(self.now.timestamp())}@", claim.message_id, count=1
            )
            self.deliveries.forced(claim.id, forced_reason, message_id)
        replaces = replacing[1] if replacing else ""
        result = self._attempt(decision, claim, transport, message_id, replaces=replaces)
        self._record(transport)
        return result

    def _record(self, transport: Transport) -> None:
        """What was handed over made durable first, then the results written."""
        transport.make_durable()
        self.deliveries.flush()

    def _attempt(
        self,
        decision: Decision,
        claim: Claim,
        transport: Transport,
        message_id: str | None = None,
        *,
        replaces: str = "",
    ) -> DeliveryResult:
        """Render and hand over one claimed delivery; its result is noted in the log.

        A configuration problem leaves the delivery pending (state `held` on the result);
        a fault of this person's data fails it; the transport's failures are recorded.
        """
        from certify.register.keep import code_for
        from certify.render.compose import AddressError, MissingGlyphs, TemplateProblem
        from certify.render.context import DeliveryRef

        log = self.deliveries
        message_id = message_id or claim.message_id
        result = self._result(decision, DeliveryState.CLAIMED)
        result.message_id, result.certificate_number = message_id, claim.certificate_number
        try:
            code = code_for(self.store.conn, claim.certificate_number)
            delivery = DeliveryRef(claim.id, claim.certificate_number, message_id, code, replaces)
            mail = self._render(decision, delivery, result, keep=True)
        except TemplateProblem as exc:
            reason = "; ".join(exc.problems)
            log.release(claim.id, not_sent(reason))
            result.state, result.error = "held", reason
            return result
        except (AddressError, MissingGlyphs) as exc:
            log.record(claim, DeliveryState.FAILED, error=str(exc))
            result.state, result.error = DeliveryState.FAILED, str(exc)
            return result
        if mail.certificate is not None:
            log.keep_certificates()
        file_name = safe_file_name(*claim.key)  # a re-issue's own, not its predecessor's
        try:
            transport.send(mail, file_name, lambda: log.mark_sending(claim))
        except AmbiguousFailure as exc:
            log.record(claim, DeliveryState.UNKNOWN, error=exc.reason, code=exc.code)
            result.state, result.error = DeliveryState.UNKNOWN, exc.reason
        except PermanentFailure as exc:
            log.record(claim, DeliveryState.FAILED, error=exc.reason, code=exc.code)
            result.state, result.error = DeliveryState.FAILED, exc.reason
        except TemporaryFailure as exc:
            result.state = log.temporary_failure(claim, exc.reason, exc.code)
            result.error = exc.reason
            result.connection = exc.connection
        else:
            log.record(claim, DeliveryState.SENT)
            result.state = DeliveryState.SENT
        return result

    def rehearse(self, decision: Decision) -> DeliveryResult:
        """Render what would be sent, without claiming, writing or connecting."""
        from certify.register.keep import code_for
        from certify.render.compose import AddressError, MissingGlyphs, TemplateProblem
        from certify.render.context import DeliveryRef

        result = self._result(decision, "would send")
        record = History(self.store).find(decision.key) or {}
        delivery = DeliveryRef(
            record.get("id"),
            record.get("certificate_number") or _("(given when sent)"),
            record.get("message_id") or "<dry-run@certify.invalid>",
            code_for(self.store.conn, record.get("certificate_number")),
        )
        try:
            self._render(decision, delivery, result)
        except TemplateProblem as exc:
            result.state, result.error = "held", "; ".join(exc.problems)
        except (AddressError, MissingGlyphs) as exc:
            result.state, result.error = "would fail", str(exc)
        return result

    # -- the run -------------------------------------------------------------------------------

    def plan(self, actions: list[Action], enough: int | None = None) -> Plan:
        """Every decision at this run's moment (until `enough` are due); reads only."""
        return make_plan(
            self.store,
            self.config,
            self.now,
            actions=actions,
            enough=enough,
            switch_on=self.switch_on,
        )

    def run(
        self,
        actions: list[Action],
        transport: Transport | None,
        *,
        limit: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        render: bool = True,
    ) -> RunReport:
        """A real run (transport given) or a dry run (transport None: reads only).

        A dry run renders every message it would send, unless `render` is False.
        """
        if transport is None:
            return self._run(actions, None, limit, progress, render)
        run_id = runs.start(self.store, self.now)
        try:
            report = self._run(actions, transport, limit, progress, render)
        except BaseException as exc:
            detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            runs.finish(self.store, run_id, "failed", EXIT_INPUT, {}, detail)
            raise
        counts = {**report.counts(), "unreachable": report.unreachable}
        runs.finish(self.store, run_id, report.ending, report.exit_code, counts, report.detail)
        return report

    def _run(
        self,
        actions: list[Action],
        transport: Transport | None,
        limit: int | None,
        progress: Callable[[int, int], None] | None,
        render: bool,
    ) -> RunReport:
        report = RunReport(self.now, dry_run=transport is None)
        report.titles = {a.id: action_title(a.name, a.id) for a in self.config.actions}
        report.warnings = unmatched_settings(self.store.conn, self.config)
        if transport is not None:
            self.store.record_zone(self.config.tz)
            for note in recover(self.deliveries, transport):
                self.log(_("recovered: {note}").format(note=note))
            self.deliveries.record_since([a.id for a in actions if a.since is None])
        plan = self.plan(actions, limit)
        report.plan, report.switched_on = plan, plan.switched_on
        report.judged_all = plan.complete
        report.waiting = plan.count("waiting")
        report.not_due = plan.count("not_due") + plan.not_due_elsewhere
        report.retry_later = plan.count("retry_later")
        if transport is None:
            # counted, not made: a dry run over years of history would make each one
            report.skipped = plan.count_unlogged("skipped")
            report.skipped += self._count_course_skips(plan)
            report.expired = plan.count("expired")
            if render:
                self._rehearse(plan.by_outcome("send", limit), report, progress)
            else:
                listed = plan.listed("send")[:limit]
                results.list_would_send(listed, report)
                if progress:
                    progress(len(listed), len(listed))
            return report
        skipped = plan.by_outcome("skipped")
        report.skipped = self._record_final(skipped, DeliveryState.SKIPPED)
        report.skipped += self.deliveries.record_course_skips(plan.course_skips, plan.since)
        report.expired = self._record_final(plan.by_outcome("expired"), DeliveryState.EXPIRED)
        # a reminder of a revoked certificate, say, is skipped for a reason: no history
        reasoned = [
            d for d in skipped if d.note and not (d.existing and d.existing.state == "skipped")
        ]
        history = report.skipped - len(reasoned)
        if history and not self.quiet:  # routine, not news: worded only when shown
            self.log(results.history_skipped(history))
        for d in [] if self.quiet else reasoned:
            title = report.titles.get(d.action.id, d.action.id)
            self.log(skipped_line(title, d.course.id, d.participant.person_id, d.note or ""))
        try:
            self._send(plan.by_outcome("send", limit), transport, report, progress)
        finally:
            self.close()
        return report

    def _send(
        self,
        to_send: list[Decision],
        transport: Transport,
        report: RunReport,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Claim in batches (one synchronous commit each), hand over one by one, record."""
        connection_failures = unknown_in_row = 0
        stopped_actions: set[str] = set()
        done = 0
        with Stop() as stop:
            for start in range(0, len(to_send), CLAIM_BATCH):
                if report.stopped:
                    break
                chunk = to_send[start : start + CLAIM_BATCH]
                batch = [d for d in chunk if d.action.id not in stopped_actions]
                report.held += len(chunk) - len(batch)
                if not batch:
                    continue
                self.ready()
                self._open(transport)
                claims = self.deliveries.claim_many(
                    [d.decided() for d in batch], self.config.settings.sender
                )
                self.contexts.prefetch(batch)
                unattempted: list[Claim] = []
                for decision, claim in zip(batch, claims, strict=True):
                    if progress:
                        progress(done, len(to_send))
                    done += 1
                    if report.stopped or decision.action.id in stopped_actions:
                        unattempted.append(claim)
                        if not report.stopped:
                            report.held += 1
                        continue
                    if stop.requested:
                        report.stopped = results.stopped_by_signal()
                        unattempted.append(claim)
                        continue
                    result = self._attempt(decision, claim, transport)
                    report.results.append(result)
                    if self._logging:
                        self.log(result.line())
                    state = result.state
                    if state == "held":
                        stopped_actions.add(decision.action.id)
                        report.held += 1
                        report.problems.append(result.problem_line())
                        continue
                    if state == DeliveryState.SENT:
                        report.sent += 1
                    elif state == DeliveryState.FAILED:
                        report.failed += 1
                    elif state == DeliveryState.UNKNOWN:
                        report.unknown += 1
                    else:
                        report.pending += 1
                    report.unreachable += result.connection
                    connection_failures = connection_failures + 1 if result.connection else 0
                    unknown_in_row = unknown_in_row + 1 if state == DeliveryState.UNKNOWN else 0
                    if connection_failures >= IN_A_ROW_TO_STOP:
                        report.stopped = results.stopped_unreachable(connection_failures)
                    elif unknown_in_row >= IN_A_ROW_TO_STOP:
                        report.stopped = results.stopped_silent(unknown_in_row)
                self._record(transport)
                self.deliveries.unclaim(unattempted)
            if progress:
                progress(len(to_send), len(to_send))

    def _rehearse(
        self,
        to_send: list[Decision],
        report: RunReport,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        stopped_actions: set[str] = set()
        for index, decision in enumerate(to_send):
            if progress and index % 100 == 0:
                progress(index, len(to_send))
            if index % CLAIM_BATCH == 0:
                self.contexts.prefetch(to_send[index : index + CLAIM_BATCH])
            if decision.action.id in stopped_actions:
                result = self._result(decision, "held")
            else:
                result = self.rehearse(decision)
            report.results.append(result)
            if result.state == "held":
                report.held += 1
                if decision.action.id not in stopped_actions:
                    stopped_actions.add(decision.action.id)
                    report.problems.append(result.problem_line())
            elif result.state == "would fail":
                report.failed += 1
            else:
                report.sent += 1

    def _record_final(self, decisions: list[Decision], state: DeliveryState) -> int:
        fresh = [d for d in decisions if d.existing is None or d.existing.state != state]
        return self.deliveries.record_final([d.decided() for d in fresh], state)

    def _count_course_skips(self, plan: Plan) -> int:
        """For a dry run: how many participants recording the history would skip."""
        return sum(
            DeliveryLookup(self.store).unlogged_enrollments(action_id, courses)
            for action_id, courses in plan.course_skips.items()
            if courses
        )
