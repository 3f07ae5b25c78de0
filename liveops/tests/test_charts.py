"""The admin's SVG charts: valid XML, exact geometry for exact series, labels escaped."""

import xml.etree.ElementTree as ET

import pytest

from liveops.charts import Series, bar_chart, format_value, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314  (our own output, not untrusted input)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_nice_ticks_cover_the_range_with_round_steps():
    assert nice_ticks(0, 9.3) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(-120, 480) == [-200, 0, 200, 400, 600]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0.0, 1.37) == [0, 0.5, 1.0, 1.5]


def test_format_value():
    assert format_value(1234567) == "1,234,567"
    assert format_value(2.5) == "2.50"
    assert format_value(0.12345) == "0.1235"
    assert format_value(1234.56) == "1,235"


def test_line_chart_places_each_point_exactly():
    # given three days with values 0, 5 and 10 on a 0..10 axis
    svg = line_chart(
        title="ROAS",
        x_labels=["2025-01-01", "2025-01-02", "2025-01-03"],
        series=[Series("fb/summer", [0, 5, 10])],
        width=400,
        height=200,
    )
    root = parse(svg)
    # then the plot spans x 72..376 and y 36..152 (margins 64+8 / 16+8, 36 / 48)
    points = [
        (c.get("cx"), c.get("cy")) for c in root.iter(f"{SVG}circle") if c.get("class") == "point"
    ]
    assert points == [("72", "152"), ("224", "94"), ("376", "36")]
    (polyline,) = root.iter(f"{SVG}polyline")
    assert polyline.get("points") == "72,152 224,94 376,36"
    assert root.get("height") == "218"  # 200 + one legend row
    assert "2025-01-02" in texts(root)
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "fb/summer 2025-01-02: 5" in titles


def test_line_chart_breaks_the_line_at_gaps_and_circles_marked_points():
    svg = line_chart(
        title="t",
        x_labels=["a", "b", "c", "d", "e"],
        series=[Series("s", [1, 2, None, 4, 5], marked=frozenset({3}))],
    )
    root = parse(svg)
    polylines = list(root.iter(f"{SVG}polyline"))
    assert [len(p.get("points", "").split()) for p in polylines] == [2, 2]
    marks = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "mark"]
    assert len(marks) == 1
    assert marks[0].find(f"{SVG}title").text == "s d: 4 (anomaly)"
    assert "anomaly" in texts(root)  # the legend names the mark


def test_labels_are_escaped_and_the_svg_stays_well_formed():
    hostile = "<script>alert('x')</script> & \"co\""
    svg = line_chart(title=hostile, x_labels=[hostile], series=[Series(hostile, [3])])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)  # the parser restores the exact text from the escaped form
    assert root.get("aria-label") == hostile
    assert hostile in texts(root)
    bars = bar_chart(title=hostile, x_labels=[hostile], series=[Series(hostile, [-2])])
    assert "<script>" not in bars
    assert hostile in texts(parse(bars))


def test_bar_chart_grows_up_for_positive_and_down_for_negative_values():
    # given granted +100 and spent -50 on one day, axis -50..100 over plot y 36..152
    svg = bar_chart(
        title="coins",
        x_labels=["2025-01-01"],
        series=[Series("granted", [100]), Series("spent", [-50])],
        width=400,
        height=200,
    )
    root = parse(svg)
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    zero_y = 152 - 116 * 50 / 150  # 113.33
    granted, spent = bars
    assert float(granted.get("y")) == pytest.approx(36)
    assert float(granted.get("height")) == pytest.approx(zero_y - 36, abs=0.01)
    assert float(spent.get("y")) == pytest.approx(zero_y, abs=0.01)
    assert float(spent.get("height")) == pytest.approx(152 - zero_y, abs=0.01)
    assert granted.find(f"{SVG}title").text == "granted 2025-01-01: 100"
    assert spent.find(f"{SVG}title").text == "spent 2025-01-01: -50"


def test_empty_series_say_no_data():
    root = parse(line_chart(title="t", x_labels=[], series=[Series("s", [])]))
    assert "no data" in texts(root)
    root = parse(bar_chart(title="t", x_labels=["a"], series=[Series("s", [None])]))
    assert "no data" in texts(root)


def test_series_length_must_match_the_labels():
    with pytest.raises(ValueError, match="expected 2"):
        line_chart(title="t", x_labels=["a", "b"], series=[Series("s", [1])])
    with pytest.raises(ValueError, match="expected 1"):
        bar_chart(title="t", x_labels=["a"], series=[Series("s", [1, 2])])


def test_many_labels_are_thinned_but_every_point_keeps_a_tooltip():
    labels = [f"d{i:02d}" for i in range(30)]
    root = parse(line_chart(title="t", x_labels=labels, series=[Series("s", list(range(30)))]))
    shown = [t for t in texts(root) if t.startswith("d")]
    assert len(shown) <= 13
    assert shown[0] == "d00" and shown[-1] == "d29"
    assert len([c for c in root.iter(f"{SVG}circle") if c.get("class") == "point"]) == 30


def test_axis_labels_share_the_step_precision():
    root = parse(line_chart(title="t", x_labels=["a", "b"], series=[Series("s", [0.2, 1.37])]))
    assert [t for t in texts(root) if t[0].isdigit()] == ["0.0", "0.5", "1.0", "1.5"]


def test_a_long_legend_wraps_and_the_chart_grows_to_hold_it():
    names = [f"media_source_{n} / campaign_{n}" for n in range(6)]
    svg = line_chart(
        title="t", x_labels=["a"], series=[Series(name, [n]) for n, name in enumerate(names)]
    )
    root = parse(svg)
    legend = [t for t in root.iter(f"{SVG}text") if (t.text or "").startswith("media_source")]
    assert len(legend) == 6
    assert all(float(t.get("x")) + 7 * len(t.text) <= 720 for t in legend)
    rows = sorted({t.get("y") for t in legend})
    assert len(rows) == 2  # 3 per row at this width
    assert root.get("height") == str(260 + 2 * 18)


def test_sparkline_places_points_and_escapes_labels():
    from liveops.charts import sparkline

    svg = sparkline(
        title="DAU <7 days>",
        x_labels=["d<1>", "d2", "d3"],
        values=[0, 5, 10],
        width=106,
        height=26,
    )
    root = parse(svg)
    assert root.get("aria-label") == "DAU <7 days>"
    [line] = root.iter(f"{SVG}polyline")
    # x from 3 to 103 in steps of 50; y from 23 (0) to 3 (10)
    assert line.get("points") == "3,23 53,13 103,3"
    circles = list(root.iter(f"{SVG}circle"))
    assert [c.find(f"{SVG}title").text for c in circles] == ["d<1>: 0", "d2: 5", "d3: 10"]
    assert [c.get("r") for c in circles] == ["1", "1", "2"]
    assert "&lt;1&gt;" in svg and "<1>" not in svg


def test_sparkline_gaps_and_flat_series():
    from liveops.charts import sparkline

    svg = sparkline(title="t", x_labels=["a", "b", "c", "d"], values=[4, None, 4, 4], width=66)
    root = parse(svg)
    # a lone point before the gap draws no line; the run after it does, at the top (4 is the max)
    assert [p.get("points") for p in root.iter(f"{SVG}polyline")] == ["43,3 63,3"]
    assert len(list(root.iter(f"{SVG}circle"))) == 3
    with pytest.raises(ValueError, match="2 values for 1 labels"):
        sparkline(title="t", x_labels=["a"], values=[1, 2])
