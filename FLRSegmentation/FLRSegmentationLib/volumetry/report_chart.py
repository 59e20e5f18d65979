"""The report's chart: FLR % and sFLR as bars against the minimum, the verdict's bar marked, with the FLR % range.

The same picture as the Slicer module's chart (FLRSegmentationModuleLib/results_chart.py), drawn with matplotlib's
Agg canvas for the HTML report, where no Slicer is running. An uncertainty range (`flr_percent_range`, when the
assessment reports one) is an error bar on FLR %.
"""

from __future__ import annotations

import io

from .flr_thresholds import MEASURE_TITLES
from .headline import headline_of, percent_range

VERDICT_COLOUR = (0.2, 0.4, 0.8)
SUPPORTING_COLOUR = (0.72, 0.78, 0.9)
THRESHOLD_COLOUR = (0.85, 0.1, 0.1)


def chart_png(result: dict, width_in: float = 3.4, height_in: float = 2.0) -> bytes | None:
    """The chart as PNG bytes, or None when there is nothing to draw (no FLR)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    head = headline_of(result)
    bars = [(key, result.get(key)) for key in (head["measure"], head["supporting"]["measure"])
            if result.get(key) is not None]
    if not bars or result.get("no_flr_reason"):
        return None
    figure = Figure(figsize=(width_in, height_in), dpi=150)
    axes = figure.add_axes((0.14, 0.2, 0.82, 0.68))
    labels = [f"{MEASURE_TITLES[key]}\n({'verdict' if key == head['measure'] else 'supporting'})" for key, _ in bars]
    colours = [VERDICT_COLOUR if key == head["measure"] else SUPPORTING_COLOUR for key, _ in bars]
    axes.bar(labels, [value for _, value in bars], color=colours, width=0.55)
    span = percent_range(result.get("flr_percent_range"))
    if span and any(key == "flr_percent" for key, _ in bars):
        index = [key for key, _ in bars].index("flr_percent")
        value = result["flr_percent"]
        axes.errorbar([index], [value], yerr=[[value - span[0]], [span[1] - value]], color="black", capsize=4)
    axes.axhline(head["threshold_percent"], color=THRESHOLD_COLOUR, linestyle="--", linewidth=1.2)
    axes.text(len(bars) - 0.5, head["threshold_percent"], f" minimum {head['threshold_percent']:g} %",
              color=THRESHOLD_COLOUR, va="bottom", ha="right", fontsize=7)
    top = max([value for _, value in bars] + [head["threshold_percent"], span[1] if span else 0.0])
    axes.set_ylim(0, top * 1.2 + 1)
    axes.set_ylabel("%", fontsize=7)
    axes.tick_params(labelsize=7)
    axes.set_title(f"{head['verdict']} on {MEASURE_TITLES[head['measure']]}", fontsize=8)
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()

