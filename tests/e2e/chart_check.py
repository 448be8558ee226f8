#!/usr/bin/env python3
"""Check charts of `scli count --format chart` against `--format json` of the same queries.

    chart_check.py MANIFEST

MANIFEST has a line per chart: CHART_FILE, JSON_FILE, COLUMNS and a description,
tab-separated. For each, one line on stdout: `ok`, or `fail<TAB>DESCRIPTION: PROBLEMS`.
(One run for many charts: Python's start-up is most of the time of a check.)

Reads each chart as a person would and checks, independently of scli's code:
each series in the JSON's order with a header naming its customer (its event
type when grouped, the types when filtered) and "<window> windows, <zone>";
one line per bucket with the same start, count and partial mark (`partial`) as the
JSON, and a total equal to the JSON's; every line at most COLUMNS wide; the
bars all starting at one column, the largest bucket's bar reaching COLUMNS,
every bar round(count * 8W / largest) eighths long (W the columns the largest
fills), at least one eighth for a count above zero and none for zero; the
partial note after the chart exactly when a bucket is partial; no escape byte.
"""
import json
import re
import sys
import unicodedata

EIGHTHS = {"\u258f": 1, "\u258e": 2, "\u258d": 3, "\u258c": 4,
           "\u258b": 5, "\u258a": 6, "\u2589": 7, "\u2588": 8}
BAR = re.compile("([\u2588\u2589\u258a\u258b\u258c\u258d\u258e\u258f]+)$")
BUCKET = re.compile(r"^  (\S+) +(\d+)( partial)?(?: +([\u2588-\u258f]+))?$")
TOTAL = re.compile(r"^  total +(\d+)$")
NOTE = "partial: a window cut by --from/--to"

problems = []


def problem(msg):
    problems.append(msg)


def width(s):
    """Terminal columns of s (wide and full-width characters 2, combining 0)."""
    w = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return w


def bar_eighths(bar):
    if not bar:
        return 0
    # whole blocks, then at most one partial block, last
    if any(ch != "\u2588" for ch in bar[:-1]):
        problem(f"bar {bar!r}: a partial block before the end")
    return sum(EIGHTHS[ch] for ch in bar)


def check(chart_file, json_file, columns):
    raw = open(chart_file, "rb").read()
    if b"\x1b" in raw:
        problem("an escape byte in the chart")
    text = raw.decode("utf-8")
    answer = json.load(open(json_file))
    lines = text.split("\n")
    if lines[-1] != "":
        problem("the chart does not end with a newline")
    lines = lines[:-1]

    for n, line in enumerate(lines, 1):
        m = BUCKET.match(line)
        if m and m.group(4) and width(m.group(4)) == 1 and width(line) - 1 >= columns:
            continue  # the text alone fills the width: never cut, the bar keeps one column
        if width(line) > columns:
            problem(f"line {n} is {width(line)} columns wide, more than {columns}: {line!r}")
        if line != line.rstrip():
            problem(f"line {n} ends in blanks: {line!r}")

    any_partial = any(b["partial"] for c in answer["customers"] for b in c["buckets"])
    if any_partial:
        if lines[-2:] != ["", NOTE]:
            problem(f"no partial note at the end: {lines[-2:]!r}")
        lines = lines[:-2]
    elif NOTE in lines:
        problem("a partial note without a partial bucket")

    # Series: blocks separated by one blank line.
    blocks = "\n".join(lines).split("\n\n") if lines else []
    series = answer["customers"]
    if len(blocks) != len(series):
        problem(f"{len(blocks)} series drawn, the JSON has {len(series)}")
    largest = max((b["count"] for c in series for b in c["buckets"]), default=0)
    bars = []  # (count, bar start column, eighths, line width)

    for block, s in zip(blocks, series):
        rows = block.split("\n")
        header = []
        while rows and not BUCKET.match(rows[0]) and not TOTAL.match(rows[0]):
            header.append(rows.pop(0))
        if not header or not header[0].startswith(s["customer_id"]):
            problem(f"series {s['customer_id']}: header {header!r}")
        parts = "  ".join(h.strip() for h in header).split("  ")
        want = [s["customer_id"]]
        if "event_type" in s:
            want.append(s["event_type"] if s["event_type"] is not None else "(no event type)")
        elif "event_types" in answer:
            want.append("event types: " + ", ".join(answer["event_types"]))
        want.append(f"{answer['window']} windows, {answer['time_zone']}")
        if parts != want:
            problem(f"series {s['customer_id']}: header parts {parts!r}, expected {want!r}")
        if not rows or not TOTAL.match(rows[-1]):
            problem(f"series {s['customer_id']}: no total line last: {rows[-1:]!r}")
            continue
        total = int(TOTAL.match(rows.pop()).group(1))
        if total != s["total"]:
            problem(f"series {s['customer_id']}: total {total}, JSON {s['total']}")
        got = []
        for row in rows:
            m = BUCKET.match(row)
            if not m:
                problem(f"series {s['customer_id']}: not a bucket line: {row!r}")
                continue
            start, count, mark, bar = m.group(1), int(m.group(2)), bool(m.group(3)), m.group(4) or ""
            got.append({"start": start, "count": count, "partial": mark})
            if bar:
                bars.append((count, width(row) - width(bar), bar_eighths(bar), width(row)))
            elif count:
                problem(f"{start}: count {count} drawn without a bar")
        if got != s["buckets"]:
            problem(f"series {s['customer_id']}: buckets {got}, JSON {s['buckets']}")

    if bars:
        starts = {b[1] for b in bars}
        if len(starts) != 1:
            problem(f"bars start at different columns: {sorted(starts)}")
        full = max(columns - min(starts), 1)
        for count, _, eighths, line_width in bars:
            want = max(1, int(count * (full * 8.0) / largest + 0.5))
            if eighths != want:
                problem(f"count {count}: bar of {eighths} eighths, expected {want} "
                        f"(largest {largest} fills {full} columns)")
            if count == largest and line_width != max(columns, min(starts) + 1):
                problem(f"the largest bucket's line is {line_width} columns, not {columns}")



def main():
    for line in open(sys.argv[1]):
        chart_file, json_file, columns, desc = line.rstrip("\n").split("\t", 3)
        problems.clear()
        try:
            check(chart_file, json_file, int(columns))
        except Exception as e:  # an unreadable chart is a failure, not a crash
            problem(f"{type(e).__name__}: {e}")
        print("fail\t%s: %s" % (desc, "; ".join(problems)) if problems else "ok")


if __name__ == "__main__":
    main()
