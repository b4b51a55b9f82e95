"""Server-side SVG charts: well-formed SVG, every value written, text escaped, links kept."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from casekit.charts import Bar, bar_chart, duration, line_chart, number

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def links(svg: str) -> list[str]:
    return [el.get("href", "") for el in ET.fromstring(svg).iter(f"{SVG}a")]


def test_bar_chart_writes_each_label_and_value_and_links_each_bar():
    bars = [
        Bar("New", 12, href="/cases?q=1&view=all"),
        Bar("Reply <received> & co", 1234),
        Bar("Waiting", 0),
    ]
    svg = bar_chart(bars, title="Active cases by status")
    shown = texts(svg)
    assert "Active cases by status" in shown
    for label, value in (("New", "12"), ("Reply <received> & co", "1,234"), ("Waiting", "0")):
        assert label in shown
        assert value in shown
    assert links(svg) == ["/cases?q=1&view=all"]
    root = ET.fromstring(svg)
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]
    assert widths[1] > widths[0] > widths[2] == 0  # bars are to scale


def test_bar_chart_formats_durations():
    svg = bar_chart(
        [Bar("Median", 5400), Bar("90th percentile", 90)], title="t", formatter=duration
    )
    assert {"1.5 h", "2 min"} <= set(texts(svg))


def test_line_chart_writes_every_value_up_to_a_month():
    points = [Bar(f"2026-03-{d:02d}", d % 4, href=f"/d/{d}") for d in range(1, 11)]
    svg = line_chart(points, title="Cases opened")
    shown = texts(svg)
    assert [t for t in shown if t.startswith("2026-03-")] == [p.label for p in points]
    assert shown.count("3") == 2  # days 3 and 7
    assert len(links(svg)) == 10
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}circle"))) == 10
    assert len(root.find(f"{SVG}polyline").get("points").split()) == 10


def test_a_long_line_labels_every_nth_point_but_titles_all():
    points = [Bar(f"d{i}", i) for i in range(90)]
    svg = line_chart(points, title="Quarter")
    root = ET.fromstring(svg)
    titles = [el.text for el in root.iter(f"{SVG}title")]
    assert len(titles) == 91  # the chart's and one per point
    assert "d89: 89" in titles
    assert sum(1 for t in texts(svg) if t.startswith("d")) == 30 + 1  # every 3rd and the last


def test_empty_charts_say_so():
    for svg in (bar_chart([], title="x"), line_chart([], title="x")):
        assert "No data" in texts(svg)


def test_numbers():
    assert number(3.0) == "3"
    assert number(1234567) == "1,234,567"
    assert number(2.25) == "2.2"
    assert duration(30) == "30 s"
    assert duration(90000) == "1.0 d"
