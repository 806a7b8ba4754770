"""Charts for the close pack as inline SVG: no charting library is installed in the tree (only Jinja2, which
comes with Dagster), and inline SVG keeps the page self-contained and prints the same in the PDF.

One chart is a grouped horizontal bar chart: a row per label (the biggest of the pack's month first, the rest
summed as "Other"), a bar per month, oldest lightest, the pack's month darkest and labelled with its amount.
"""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

from ml_connector.close_pack.data import SpendSeries
from ml_connector.close_pack.format import money

TOP = 8
PALETTE = ("#cfdbe6", "#a3bbd1", "#6d93b7", "#1f4e79")  # oldest to the pack's month
WIDTH, LABEL_W, VALUE_W = 720, 210, 96
BAR_H, BAR_GAP, ROW_GAP, TOP_PAD = 7, 1, 10, 26


def rows_of(series: SpendSeries, top: int = TOP) -> list[tuple[str, list[Decimal]]]:
    ordered = sorted(series.values.items(), key=lambda item: (-item[1][-1], item[0]))
    shown, rest = ordered[:top], ordered[top:]
    if rest:
        other = [sum((values[i] for _, values in rest), Decimal(0)) for i in range(len(series.months))]
        shown.append((f"Other ({len(rest)})", other))
    return shown


def bar_chart(series: SpendSeries) -> Markup:
    rows = rows_of(series)
    months = series.months
    colours = PALETTE[-len(months):]
    group_h = len(months) * (BAR_H + BAR_GAP) + ROW_GAP
    height = TOP_PAD + len(rows) * group_h + 6
    biggest = max((v for _, values in rows for v in values), default=Decimal(0))
    scale = (WIDTH - LABEL_W - VALUE_W) / float(biggest) if biggest > 0 else 0.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(series.title)}, {series.currency}">']
    x = LABEL_W
    for at, month in enumerate(months):  # the legend
        note = "" if month in series.months_with_data else " (not run)"
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{colours[at]}"/>'
                     f'<text x="{x + 14}" y="15" class="legend">{month}{note}</text>')
        x += 128 if note else 76
    for row, (label, values) in enumerate(rows):
        top = TOP_PAD + row * group_h
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(f'<text x="{LABEL_W - 8}" y="{top + group_h / 2 - 2:.1f}" class="label" text-anchor="end">'
                     f'<title>{escape(label)}</title>{escape(short)}</text>')
        for at, value in enumerate(values):
            y = top + at * (BAR_H + BAR_GAP)
            width = max(float(value) * scale, 0.0)
            text = money(value, series.currency)
            parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR_H}" fill="{colours[at]}">'
                         f'<title>{escape(label)}, {months[at]}: {text} {series.currency}</title></rect>')
            if at == len(values) - 1:
                parts.append(f'<text x="{LABEL_W + width + 4:.1f}" y="{y + BAR_H}" class="value">{text}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
