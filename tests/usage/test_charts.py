"""usage.charts: server-drawn SVG bar charts that parse as XML, one bar and one title each."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from usage.charts import Bar, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_it_draws_one_bar_with_a_title_per_point() -> None:
    bars = [
        Bar(f"{hour:02}:00", hour * 10, f"{hour:02}:00 · Requests: {hour * 10}")
        for hour in range(24)
    ]
    root = _parse(bar_chart(bars, caption="Requests", axis_label=str))

    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 24
    titles = [rect.find(f"{SVG}title") for rect in rects]
    assert [title.text for title in titles if title is not None][3] == "03:00 · Requests: 30"
    assert root.get("viewBox") == "0 0 640 200"
    assert root.get("width") is None  # sized by its viewBox: it scales with the page
    assert root.find(f"{SVG}title").text == "Requests"  # type: ignore[union-attr]


def test_the_tallest_bar_fills_the_plot_and_zero_draws_nothing() -> None:
    root = _parse(
        bar_chart(
            [Bar("a", 0, "a"), Bar("b", 5, "b"), Bar("c", 10, "c")], caption="x", axis_label=str
        )
    )
    heights = [float(rect.get("height", "")) for rect in root.findall(f"{SVG}rect")]
    assert heights[0] == 0
    assert heights[2] == 2 * heights[1] > 0


def test_the_value_axis_is_labelled_with_the_callers_format() -> None:
    svg = bar_chart(
        [Bar("a", 4_000_000_000, "a")], caption="Cost", axis_label=lambda v: f"USD {v / 1e9:.2f}"
    )
    labels = [text.text for text in _parse(svg).findall(f"{SVG}text")]
    assert {"USD 0.00", "USD 2.00", "USD 4.00"} <= set(labels)


def test_it_escapes_text_and_reads_in_chinese() -> None:
    svg = bar_chart(
        [Bar("<b>", 1, "请求 & “花费” <script>")], caption="请求 <数据看板>", axis_label=str
    )
    root = _parse(svg)  # still valid XML
    assert "<script>" not in svg
    rect_title = root.find(f"{SVG}rect/{SVG}title")
    assert rect_title is not None and rect_title.text == "请求 & “花费” <script>"
    assert root.get("aria-label") == "请求 <数据看板>"


def test_an_empty_or_all_zero_chart_is_still_valid() -> None:
    assert _parse(bar_chart([], caption="none", axis_label=str)).findall(f"{SVG}rect") == []
    zeros = _parse(bar_chart([Bar("a", 0, "a")] * 3, caption="zeros", axis_label=str))
    assert len(zeros.findall(f"{SVG}rect")) == 3


def test_only_some_time_labels_are_written_when_there_are_many() -> None:
    root = _parse(bar_chart([Bar(f"d{n}", n, "") for n in range(30)], caption="x", axis_label=str))
    under_axis = [t.text for t in root.findall(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert under_axis[0] == "d0"
    assert 4 <= len(under_axis) <= 8
