"""The module's volumetry table and chart nodes as plain data for the page, read back from MRML.

The page shows exactly what the Slicer module shows: the rows LiveVolumetry wrote into its table node and the
series results_chart wrote into its chart's table, never numbers computed again here.
"""

from __future__ import annotations

from FLRSegmentationLib.volumetry.headline import headline_of
from FLRSegmentationLib.volumetry.rows import COLUMNS
from FLRSegmentationModuleLib.results_chart import SERIES, chart_table

BAR_HEADROOM = 1.15  # the longest bar ends short of the panel's edge


def table_rows(table_node) -> list[dict[str, str]]:
    """Each row of the table node as {column title in lower case: text}."""
    table = table_node.GetTable() if table_node is not None else None
    if table is None:
        return []
    keys = [title.lower() for title in COLUMNS]
    return [{key: table.GetValue(row, column).ToString() for column, key in enumerate(keys)}
            for row in range(table.GetNumberOfRows())]


def chart_bars(chart) -> dict:
    """The chart's title and, per quantity (FLR %, sFLR), its bars with a width in % of the longest and a colour."""
    if chart is None:
        return {"title": "", "groups": []}
    table = chart_table(chart).GetTable()
    rows = [[table.GetValue(row, 0).ToString()] + [table.GetValue(row, c + 1).ToDouble() for c in range(len(SERIES))]
            for row in range(table.GetNumberOfRows())]
    longest = max((value for row in rows for value in row[1:]), default=0.0) * BAR_HEADROOM or 1.0
    groups = [{"label": row[0],
               "bars": [{"name": name, "value": f"{value:.1f}", "width": round(100 * value / longest, 1),
                         "color": _hex(color)} for (name, _, color), value in zip(SERIES, row[1:])]}
              for row in rows]
    return {"title": chart.GetTitle() or "", "groups": groups}


def headline(result: dict | None, error: str | None) -> str:
    """The headline verdict on the threshold source's measure, the line a surgeon reads first."""
    if result is None:
        return f"Not measured: {error}" if error else ""
    return headline_of(result)["sentence"]


def _hex(color: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(255 * channel):02x}" for channel in color)
