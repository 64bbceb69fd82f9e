"""Certificates per second for 1,000 deliveries, and the size of one certificate."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from reportlab.pdfgen import canvas

from bench.bench_run import base_db
from bench.common import ROOT, Result, interleaved, median, timed
from certify.config import load
from certify.decide.plan import make_plan
from certify.render.context import DeliveryContexts, DeliveryRef
from certify.render.glyphs import shipped_font_names
from certify.render.layout import render_pdf
from certify.render.templates import Templates
from certify.store.database import Store


def one_line_floor(contexts: Sequence[Mapping[str, Any]]) -> float:
    """The least a certificate can cost, per second: one line of the same embedded font."""
    regular, _ = shipped_font_names()

    def go() -> None:
        for context in contexts:
            pdf = canvas.Canvas(io.BytesIO(), initialFontName=regular)
            pdf.setFont(regular, 30)
            pdf.drawString(72, 720, str(context["person"]["full_name"]))
            pdf.showPage()
            pdf.save()

    return len(contexts) / timed(go)


def run(repeat: int, deliveries: int = 1000) -> list[Result]:
    config = load(ROOT / "actions.yaml")  # the shipped certificate layout, logo included
    templates = Templates(config)
    layout = templates.layouts["certificate"][None]
    store = Store.open_readonly(base_db())
    now = datetime(2027, 1, 1, tzinfo=UTC)
    plan = make_plan(
        store,
        config,
        now,
        # the synthetic export has its own course types; the shipped action links others
        actions=[config.action("certificate").model_copy(update={"course_types": None})],
        since_override={"certificate": datetime(2000, 1, 1, tzinfo=UTC)},
    )
    # expire_after makes old ones `expired`; they met every condition all the same
    chosen = (plan.by_outcome("send") + plan.by_outcome("expired"))[:deliveries]
    reader = DeliveryContexts(store.conn, config)
    contexts = [
        reader.read(
            decision, DeliveryRef(index, f"2026-{index:06d}-0", "<m@x>", "7K3M-Q9XD-2P4T"), now
        )
        for index, decision in enumerate(chosen)
    ]
    store.close()
    sizes: list[int] = []

    def subject() -> float:
        def go() -> None:
            sizes.clear()
            sizes.extend(len(render_pdf(layout, context)) for context in contexts)

        return len(contexts) / timed(go)

    def floor() -> float:
        return one_line_floor(contexts)

    rates, floors = interleaved(subject, floor, repeat)
    rate, floor_rate = median(rates), median(floors)
    largest = max(sizes)
    return [
        Result(
            f"certificate PDFs for {len(contexts)} deliveries",
            rate,
            floor_rate,
            "per s",
            ">= 50 per s",
            rate >= 50,
            "floor: one line in the same embedded font",
        ),
        Result(
            "size of one certificate PDF (font subset embedded)",
            largest / 1024,
            100,
            "KiB",
            "< 100 KiB",
            largest < 100 * 1024,
            f"largest of {len(sizes)}: {largest} bytes",
        ),
    ]
