#!/usr/bin/env python3
"""The windows of issue 15 (SPEC.md: Counting; Windows, time zones and event types;
count --format json/csv; HTTP) against an independent oracle, through the scli binary.

The oracle knows nothing of scli's code. It finds window starts by brute force with
Python's zoneinfo -- stepping through the instants of a range and marking those at
which the zone's clock shows a whole minute, a whole hour, a date it has not shown
before, or the 1st of a month it has not shown before -- and counts the events of a
generated file one by one (first stored wins for a repeated customer + transaction id).
Its JSON is compared, bucket by bucket, with `scli count --format json` and with
`scli serve`'s GET /v1/usage and /v1/customers/{id}/usage, on every database given;
for a few cases the CSV as well (--format csv, format=csv, Accept: text/csv).

  windows_oracle.py gen FILE                       write the events file (deterministic)
  windows_oracle.py expect [count args...]         print the oracle's JSON for those args
  windows_oracle.py cases FILE                     write the events file and print every case's
      `scli count` arguments, one JSON object a line: {"args": [...], "error": null or text}
  windows_oracle.py check --scli BIN --work DIR --database NAME=URL [...]
      load the file into each (empty) database and compare every case; prints
      `FAIL [NAME]: ...` per mismatch with the command to reproduce it, and last
      `passed=N failed=M`. Exit 0 when nothing failed, 1 otherwise.

Choices where SPEC.md leaves room (scli's docs/SPEC.md makes the same ones):
  - a fraction is printed with its trailing zeros trimmed (`.5`, not `.500000`);
  - a date alone in --from/--to has no offset, so it is a wall-clock time: the first
    instant of that date in --tz (SPEC's "midnight UTC" is the case of --tz UTC);
  - with --event-type and no --customer, a customer appears when it has an event of
    one of those types in the range;
  - with --group-by event_type, --customer C and no --event-type, a customer without
    events in the range appears once, with "event_type": null;
  - `event_types` lists the types given, sorted bytewise, each once; series are sorted
    by customer id, then event type, bytewise; a customer given twice appears once.
"""
import bisect
import csv
import functools
import io
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo
    ZoneInfo("Australia/Lord_Howe")
except Exception:  # no zoneinfo module, or no database behind it
    print("SKIP: no zoneinfo or no time zone database", file=sys.stderr)
    sys.exit(77)

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = 1
SEC = 1_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
         "Asia/Kathmandu", "America/St_Johns", "UTC", "+05:30", "-03:00"]
CUSTOMERS = [("acme", 50), ("beta", 25), ("d,q", 15), ("gamma co", 10)]
TYPES = ["api_call", "ingest", "storage"]


# ---- instants and zones -------------------------------------------------------------

def to_dt(us):
    return EPOCH + timedelta(microseconds=us)


def to_us(dt):
    return (dt - EPOCH) // timedelta(microseconds=1)


def utc_us(*args):
    return to_us(datetime(*args, tzinfo=UTC))


def zone_of(name):
    if name[0] in "+-":
        sign = -1 if name[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(name[1:3]), minutes=int(name[4:6])))
    return UTC if name == "UTC" else ZoneInfo(name)


def fraction(us):
    """`.5`, `.000001`: the microseconds with trailing zeros trimmed; "" when none."""
    f = us % SEC
    return ("." + ("%06d" % f).rstrip("0")) if f else ""


def offset_text(off):
    total = off // timedelta(seconds=1)
    sign = "-" if total < 0 else "+"
    total = abs(total)
    assert total % 60 == 0, "an offset with seconds in 2021?"
    return "%s%02d:%02d" % (sign, total // 3600, total // 60 % 60)


def printed(zone_name, us):
    """RFC 3339 on the zone's clock with its offset at that instant; `Z` in UTC."""
    local = to_dt(us).astimezone(zone_of(zone_name))
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + fraction(us)
    return text + ("Z" if zone_name == "UTC" else offset_text(local.utcoffset()))


def wall_text(zone_name, us, sep="T"):
    """The wall clock at instant `us`, without an offset."""
    local = to_dt(us).astimezone(zone_of(zone_name))
    return local.strftime("%Y-%m-%d" + sep + "%H:%M:%S") + fraction(us)


TS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?"
                r"(Z|[+-]\d\d:\d\d)?$")


class Gap(Exception):
    pass


def parse_time(text, zone_name):
    """--from/--to as SPEC reads them: with an offset or Z an instant, else a wall-clock
    time in the zone (the earlier instant when repeated; Gap when skipped); a date alone
    is the first instant of that date in the zone."""
    m = TS.match(text)
    assert m, "the oracle only parses what it writes: " + text
    y, mo, d, h, mi, s, f, off = m.groups()
    us = int((f or "0").ljust(6, "0"))
    wall = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), us)
    if off:
        if off == "Z":
            return to_us(wall.replace(tzinfo=UTC))
        sign = -1 if off[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
        return to_us(wall.replace(tzinfo=tz))
    zone = zone_of(zone_name)
    if h is None:  # a date alone: the first instant showing that date
        t = to_us(wall.replace(tzinfo=UTC)) - 15 * HOUR
        while to_dt(t).astimezone(zone).date() < wall.date():
            t += MIN
        return t
    first = to_us(wall.replace(tzinfo=zone, fold=0))
    if to_dt(first).astimezone(zone).replace(tzinfo=None) != wall:
        raise Gap(text)
    # fold=0 is the earlier of two readings; check nothing earlier shows it
    for back in (HOUR, 30 * MIN):
        if to_dt(first - back).astimezone(zone).replace(tzinfo=None) == wall:
            first -= back
    return first


# ---- windows by brute force ----------------------------------------------------------

def clock_key(size, local):
    if size == "minute":
        return (local.second, local.microsecond) == (0, 0)
    if size == "hour":
        return (local.minute, local.second, local.microsecond) == (0, 0, 0)
    return local.date() if size == "day" else (local.year, local.month)


# In 2021 every offset and every change of these zones falls on the quarter hour (checked
# by check_quarter_hours), so a month's scan may step by 15 minutes; the rest by the minute.
STEP = {"minute": MIN, "hour": MIN, "day": MIN, "month": 15 * MIN}
MARGIN = {"minute": 2 * MIN, "hour": 3 * HOUR, "day": 2 * DAY, "month": 32 * DAY}


def window_starts(zone_name, size, lo, hi):
    """Every instant in [lo, hi] (on the step's UTC grid) at which a window starts."""
    zone, step = zone_of(zone_name), STEP[size]
    t = lo - lo % step
    latest, found = clock_key(size, to_dt(t).astimezone(zone)), []
    t += step
    while t <= hi:
        key = clock_key(size, to_dt(t).astimezone(zone))
        if key is True or (key is not False and key > latest):
            found.append(t)
            latest = key
        t += step
    return found


def windows(zone_name, size, a, b):
    """[(start, end, partial)] of the windows overlapping [a, b)."""
    if a == b:
        return []
    s = window_starts(zone_name, size, a - MARGIN[size], b + MARGIN[size])
    i = max(k for k, x in enumerate(s) if x <= a)
    out = []
    while s[i] < b:
        out.append((s[i], s[i + 1], s[i] < a or s[i + 1] > b))
        i += 1
    return out


def check_quarter_hours():
    for name in ZONES:
        zone = zone_of(name)
        assert to_dt(utc_us(2021, 1, 1)).astimezone(zone).utcoffset() % timedelta(minutes=15) == timedelta(0)
        for c in changes_2021(name):
            assert c % (15 * MIN) == 0, (name, to_dt(c))
            assert to_dt(c).astimezone(zone).utcoffset() % timedelta(minutes=15) == timedelta(0), name


def self_test():
    """Facts any reader can check on a wall calendar: a wrong oracle fails here first."""
    ny = windows("America/New_York", "hour", utc_us(2021, 11, 7, 4), utc_us(2021, 11, 7, 8))
    assert [printed("America/New_York", w[0]) for w in ny] == [
        "2021-11-07T00:00:00-04:00", "2021-11-07T01:00:00-04:00", "2021-11-07T01:00:00-05:00",
        "2021-11-07T02:00:00-05:00"], ny
    day = windows("America/New_York", "day", utc_us(2021, 11, 7, 12), utc_us(2021, 11, 7, 13))
    assert day[0][1] - day[0][0] == 25 * HOUR and day[0][2]
    lh = windows("Australia/Lord_Howe", "hour", utc_us(2021, 4, 3, 13), utc_us(2021, 4, 3, 17))
    assert [printed("Australia/Lord_Howe", w[0]) for w in lh] == [
        "2021-04-04T00:00:00+11:00", "2021-04-04T01:00:00+11:00", "2021-04-04T02:00:00+10:30",
        "2021-04-04T03:00:00+10:30"], lh
    assert lh[1][1] - lh[1][0] == 90 * MIN
    kol = windows("Asia/Kolkata", "month", utc_us(2021, 1, 1), utc_us(2021, 2, 1))
    assert [printed("Asia/Kolkata", w[0]) for w in kol] == ["2021-01-01T00:00:00+05:30", "2021-02-01T00:00:00+05:30"]
    assert parse_time("2021-11-07T01:30", "America/New_York") == utc_us(2021, 11, 7, 5, 30)
    try:
        parse_time("2021-03-14T02:30", "America/New_York")
        assert False, "02:30 on 2021-03-14 is skipped in New York"
    except Gap:
        pass
    assert printed("UTC", utc_us(2021, 3, 1, 4) + 450000) == "2021-03-01T04:00:00.45Z"


# ---- the events --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def changes_2021(name):
    """The instants in 2021 (and January 2022) at which the zone's offset changes: hour by
    hour, then to the minute."""
    zone, out = zone_of(name), []
    t = utc_us(2020, 12, 31, 23)
    prev = to_dt(t).astimezone(zone).utcoffset()
    while t < utc_us(2022, 2, 1):
        off = to_dt(t + HOUR).astimezone(zone).utcoffset()
        if off != prev:
            m = t + MIN
            while to_dt(m).astimezone(zone).utcoffset() == prev:
                m += MIN
            out.append(m)
        prev, t = off, t + HOUR
    return tuple(out)


def focal_instants(name):
    """The 2021 clock changes of a zone; for zones without any, the US and EU dates."""
    return list(changes_2021(name)) or [utc_us(2021, 3, 14, 7), utc_us(2021, 3, 28, 1),
                                  utc_us(2021, 11, 7, 6)]


def generate():
    """[(customer, event_type, transaction_id, timestamp text)] in file order, and how
    many of the lines repeat an earlier identity."""
    rng = random.Random(15)
    instants = set()
    # near every quarter hour within 36 hours of each clock change
    for c in sorted({c for z in ZONES for c in changes_2021(z)}):
        for b in range(c - 36 * HOUR, c + 36 * HOUR + 1, 15 * MIN):
            instants.update((b - SEC // 2, b, b + 1))
    # around every zone's start of each month (local midnight on the 1st is between
    # 15:00 the day before (Lord Howe) and 05:00 (New York) UTC)
    for year, month in [(2021, m) for m in range(1, 13)] + [(2022, 1)]:
        m0 = utc_us(year, month, 1)
        for b in range(m0 - 15 * HOUR, m0 + 6 * HOUR + 1, 15 * MIN):
            instants.update((b - SEC // 2, b))
    # every minute within 90 minutes of each change, for the minute windows
    for c in sorted({c for z in ZONES for c in changes_2021(z)}):
        for b in range(c - 90 * MIN, c + 90 * MIN + 1, MIN):
            instants.update((b - SEC // 2, b))
    # and three thousand anywhere in 2021, to the microsecond
    lo, hi = utc_us(2021, 1, 1), utc_us(2022, 1, 1)
    for _ in range(3000):
        instants.add(rng.randrange(lo, hi))
    names, weights = zip(*CUSTOMERS)
    originals = []
    for i, t in enumerate(sorted(instants)):
        cust = rng.choices(names, weights)[0]
        txid = "t%d" % i if i % 50 else "2021-03-01 04:00:%02d.%d" % (i % 60, i)
        originals.append((cust, rng.choice(TYPES), txid, t))
    rng.shuffle(originals)
    # repeats: the same identity later in the file, at another time (and type) or as is
    inserts = []
    for j in rng.sample(range(len(originals)), len(originals) // 30):
        cust, typ, txid, t = originals[j]
        if j % 3:
            t += rng.choice([-1, 1]) * rng.randrange(MIN, 40 * DAY)
            typ = rng.choice(TYPES)
        inserts.append((rng.randrange(j + 1, len(originals) + 1), (cust, typ, txid, t)))
    inserts.sort(key=lambda x: x[0])
    rows, k = [], 0
    for p in range(len(originals) + 1):
        while k < len(inserts) and inserts[k][0] == p:
            rows.append(inserts[k][1])
            k += 1
        if p < len(originals):
            rows.append(originals[p])
    return [(c, ty, tx, timestamp_text(t, i)) for i, (c, ty, tx, t) in enumerate(rows)], len(inserts)


def timestamp_text(us, i):
    """RFC 3339 in UTC; every seventh with a +00 offset and a space, as real data has it."""
    d = to_dt(us)
    if i % 7 == 0:
        return d.strftime("%Y-%m-%d %H:%M:%S") + fraction(us) + "+00"
    return d.strftime("%Y-%m-%dT%H:%M:%S") + fraction(us) + "Z"


def write_events(path):
    rows, repeats = generate()
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        for r in rows:
            w.writerow(r)
    return rows, repeats


class Events:
    """The stored events (first of each identity wins), per (customer, type), sorted."""

    def __init__(self, rows):
        seen, self.series = set(), {}
        for cust, typ, txid, ts in rows:
            if (cust, txid) in seen:
                continue
            seen.add((cust, txid))
            t = parse_time(ts.replace(" ", "T").replace("+00", "Z"), "UTC")
            self.series.setdefault((cust, typ), []).append(t)
        for v in self.series.values():
            v.sort()
        self.stored = len(seen)

    def count(self, cust, typ, a, b):
        v = self.series.get((cust, typ), [])
        return bisect.bisect_left(v, b) - bisect.bisect_left(v, a)


# ---- the oracle's answer ----------------------------------------------------------------

class Case:
    def __init__(self, frm, to, window="hour", tz="UTC", types=(), group=False, customers=(),
                 skip_empty=False, csv_too=False, path_customer=False, error=None):
        self.frm, self.to, self.window, self.tz = frm, to, window, tz
        self.types, self.group, self.customers = list(types), group, list(customers)
        self.skip_empty, self.csv_too, self.error = skip_empty, csv_too, error
        # --window hour / --tz UTC given or left to their defaults: set per case by build_cases,
        # the CLI and HTTP one way each
        self.spell_defaults = False
        # /v1/customers/{id}/usage instead of /v1/usage?customer=
        self.path_customer = path_customer and len(self.customers) == 1

    def cli_args(self):
        args = ["--from", self.frm, "--to", self.to]
        if self.window != "hour" or self.spell_defaults:
            args += ["--window", self.window]
        if self.tz != "UTC" or self.spell_defaults:
            args += ["--tz", self.tz]
        for c in self.customers:
            args += ["--customer", c]
        for t in self.types:
            args += ["--event-type", t]
        if self.group:
            args += ["--group-by", "event_type"]
        if self.skip_empty:
            args.append("--skip-empty")
        return args

    def http_target(self, fmt=None):
        params = [("from", self.frm), ("to", self.to)]
        if self.window != "hour" or not self.spell_defaults:
            params.append(("window", self.window))
        if self.tz != "UTC" or not self.spell_defaults:
            params.append(("tz", self.tz))
        params += [("event_type", t) for t in self.types]
        if self.group:
            params.append(("group_by", "event_type"))
        if self.skip_empty:
            params.append(("skip_empty", "true"))
        if fmt:
            params.append(("format", fmt))
        if self.path_customer:
            path = "/v1/customers/%s/usage" % urllib.parse.quote(self.customers[0], safe="")
        else:
            params += [("customer", c) for c in self.customers]
            path = "/v1/usage"
        return path + "?" + urllib.parse.urlencode(params)


def expected(case, ev):
    """The JSON document (as Python values) SPEC prescribes, or Gap."""
    a, b = parse_time(case.frm, case.tz), parse_time(case.to, case.tz)
    ws = windows(case.tz, case.window, a, b)
    types = sorted(set(case.types))
    allowed = set(types) if types else set(TYPES)
    keys = []  # (customer, event type or None)
    if case.customers:
        for c in sorted(set(case.customers)):
            if not case.group:
                keys.append((c, None))
            elif types:
                keys += [(c, t) for t in types]
            else:
                have = [t for t in TYPES if ev.count(c, t, a, b)]
                keys += [(c, t) for t in have] or [(c, None)]
    else:
        for c, _ in sorted(CUSTOMERS):
            have = [t for t in sorted(allowed) if ev.count(c, t, a, b)]
            if not have:
                continue
            if not case.group:
                keys.append((c, None))
            else:
                keys += [(c, t) for t in sorted(set(have) | set(types))]
    series = []
    for c, t in sorted(keys, key=lambda k: (k[0].encode(), k[1] is not None, (k[1] or "").encode())):
        counted = [t] if t is not None else ([] if case.group else sorted(allowed))
        buckets = []
        for s, e, partial in ws:
            n = sum(ev.count(c, x, max(s, a), min(e, b)) for x in counted)
            if n or not case.skip_empty:
                buckets.append({"start": printed(case.tz, s), "count": n, "partial": partial})
        one = {"customer_id": c}
        if case.group:
            one["event_type"] = t
        one["total"] = sum(x["count"] for x in buckets)
        one["buckets"] = buckets
        series.append(one)
    doc = {"from": printed(case.tz, a), "to": printed(case.tz, b), "window": case.window,
           "time_zone": case.tz}
    if types:
        doc["event_types"] = types
    doc["customers"] = series
    return doc


def expected_csv(doc, group):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["customer_id"] + (["event_type"] if group else []) + ["bucket_start", "count", "partial"])
    for s in doc["customers"]:
        for bk in s["buckets"]:
            w.writerow([s["customer_id"]] + ([s["event_type"] or ""] if group else []) +
                       [bk["start"], str(bk["count"]), "true" if bk["partial"] else "false"])
    return out.getvalue()


def differences(want, got, limit=4):
    """What differs, as short lines: the head, then series by series, bucket by bucket."""
    out = []
    if not isinstance(got, dict):
        return ["not a JSON object: %.200r" % (got,)]
    for k in ("from", "to", "window", "time_zone", "event_types"):
        if want.get(k) != got.get(k):
            out.append("%s: expected %r, got %r" % (k, want.get(k), got.get(k)))
    extra = sorted(set(got) - set(want))
    if extra:
        out.append("unexpected keys %s" % extra)
    wkeys = [(s["customer_id"], s.get("event_type")) for s in want["customers"]]
    gkeys = [(s.get("customer_id"), s.get("event_type")) for s in got.get("customers", [])]
    if wkeys != gkeys:
        out.append("series: expected %s, got %s" % (wkeys, gkeys))
    gby = {(s.get("customer_id"), s.get("event_type")): s for s in got.get("customers", [])}
    for ws in want["customers"]:
        gs = gby.get((ws["customer_id"], ws.get("event_type")))
        if gs is None:
            continue
        name = ws["customer_id"] + ("/%s" % ws["event_type"] if "event_type" in ws else "")
        if sorted(ws) != sorted(gs):
            out.append("%s: keys expected %s, got %s" % (name, sorted(ws), sorted(gs)))
        if ws["total"] != gs.get("total"):
            out.append("%s: total expected %s, got %s" % (name, ws["total"], gs.get("total")))
        wb, gb = ws["buckets"], gs.get("buckets", [])
        if len(wb) != len(gb):
            out.append("%s: %d buckets expected, got %d" % (name, len(wb), len(gb)))
        bad = [(i, x, y) for i, (x, y) in enumerate(zip(wb, gb)) if x != y]
        for i, x, y in bad[:limit]:
            out.append("%s: bucket %d expected %s, got %s" % (name, i, json.dumps(x), json.dumps(y)))
        if len(bad) > limit:
            out.append("%s: ... %d more buckets differ" % (name, len(bad) - limit))
    return out


# ---- the cases ----------------------------------------------------------------------------

FILTERS = [
    {},
    {"types": ["api_call"]},
    {"group": True},
    {"types": ["storage", "api_call"], "group": True},
    {"customers": ["beta", "d,q"]},
    {"customers": ["gamma co"], "group": True, "path_customer": True},
    {"customers": ["acme", "nobody", "acme"], "types": ["ingest", "no_such_type"], "group": True},
    {"skip_empty": True, "types": ["ingest", "storage"]},
    {"customers": ["d,q"], "path_customer": True, "skip_empty": True},
    {"customers": ["nobody"], "group": True},
]
ODD = 17 * MIN + 7 * SEC + SEC // 2  # cuts a window: 17:07.5 past the quarter


def spell(zone_name, us, how, sep="T"):
    """An instant as --from/--to: `Z`, the zone's own offset, or its wall clock."""
    if how == "Z":
        return to_dt(us).strftime("%Y-%m-%dT%H:%M:%S") + fraction(us) + "Z"
    if how == "offset":
        local = to_dt(us).astimezone(zone_of(zone_name))
        return local.strftime("%Y-%m-%d" + sep + "%H:%M:%S") + fraction(us) + offset_text(local.utcoffset())
    return wall_text(zone_name, us, sep)


def build_cases():
    cases, k = [], 0
    spans = {"minute": (47 * MIN + 13 * SEC + SEC // 4, 38 * MIN + SEC // 2),
             "hour": (30 * HOUR + ODD, 28 * HOUR - ODD), "day": (3 * DAY + ODD, 3 * DAY - ODD)}
    hows = ["Z", "offset", "wall"]
    for z in ZONES:
        focal = focal_instants(z)
        for size in ("minute", "hour", "day"):
            for c in focal:
                before, after = spans[size]
                a, b = c - before, c + after
                how = hows[k % 3]
                if how == "wall":  # a wall-clock time repeated by the change would mean the earlier one
                    a, b = parse_time(spell(z, a, how), z), parse_time(spell(z, b, how), z)
                cases.append(Case(spell(z, a, how, " " if k % 4 == 1 else "T"), spell(z, b, how),
                                  size, z, **FILTERS[k % len(FILTERS)]))
                k += 1
        # months: the whole of 2021 on the zone's calendar, and a range cut at both ends
        f = FILTERS[k % len(FILTERS)]
        cases.append(Case("2021-01-01T00:00:00", "2022-01-01T00:00:00", "month", z, **f))
        cases.append(Case(spell(z, utc_us(2021, 2, 10, 12, 34, 56) + 789000, "offset"),
                          spell(z, utc_us(2021, 11, 20, 5), "Z"), "month", z,
                          **FILTERS[(k + 3) % len(FILTERS)]))
        k += 1
        # whole local days around the first focal instant: nothing partial
        d0 = to_dt(focal[0]).astimezone(zone_of(z)).date() - timedelta(days=1)
        d1 = d0 + timedelta(days=3)
        cases.append(Case(d0.isoformat(), d1.isoformat(), "hour", z, **FILTERS[k % len(FILTERS)]))
        cases.append(Case(d0.isoformat() + "T00:00", d1.isoformat() + " 00:00:00", "day", z,
                          **FILTERS[(k + 5) % len(FILTERS)]))
        k += 1
    # the hours a clock change repeats, from inside them (the earlier instant)
    cases.append(Case("2021-11-07T01:30", "2021-11-07T03:00", "hour", "America/New_York"))
    cases.append(Case("2021-11-07 01:59:59.999999", "2021-11-07T02:00", "minute", "America/New_York"))
    cases.append(Case("2021-10-31T02:15", "2021-10-31T04:00", "hour", "Europe/Berlin", group=True))
    cases.append(Case("2021-04-04T01:45", "2021-04-04T03:00", "minute", "Australia/Lord_Howe",
                      types=["api_call"]))
    cases.append(Case("2021-04-04T01:45", "2021-04-04T04:00", "hour", "Australia/Lord_Howe"))
    cases.append(Case("2021-11-07T01:00", "2021-11-07T01:00", "hour", "America/St_Johns"))  # A == B
    cases.append(Case("2021-11-07T01:00", "2021-11-07T01:00", "day", "America/New_York",
                      customers=["acme"]))
    # an instant given in another zone's offset than --tz
    cases.append(Case("2021-03-14T08:30:00+05:45", "2021-03-15T00:00:00-07:00", "hour", "America/St_Johns"))
    # wall-clock times the zone skips: usage errors naming the gap
    cases.append(Case("2021-03-14T02:30", "2021-03-15T00:00", "hour", "America/New_York",
                      error="2021-03-14T02:30"))
    cases.append(Case("2021-03-28T00:00", "2021-03-28T02:15", "day", "Europe/Berlin",
                      error="2021-03-28T02:15"))
    cases.append(Case("2021-10-03T02:10", "2021-10-04", "hour", "Australia/Lord_Howe",
                      error="2021-10-03T02:10"))
    cases.append(Case("2021-03-01", "2021-03-02", "hour", "Mars/Olympus_Mons", error="Mars/Olympus_Mons"))
    cases.append(Case("2021-03-02", "2021-03-01T23:59:59.999999", "day", "Asia/Kolkata", error="after"))
    # SPEC's limit: 100,000 windows are fine, one more is a usage error naming the limit
    cases.append(Case("2021-03-01T00:00:00Z", "2021-05-09T10:40:00Z", "minute", customers=["gamma co"],
                      skip_empty=True))
    cases.append(Case("2021-03-01T00:00:00Z", "2021-05-09T10:40:00.000001Z", "minute", error="100000"))
    # CSV, with and without group-by, quoting (`d,q`) and skip-empty
    for i in (1, 5, 17, 31, 44):
        cases[i].csv_too = True
    for i, c in enumerate(cases):
        c.spell_defaults = i % 2 == 0
    return cases


# ---- scli, as a user runs it --------------------------------------------------------------

def run(cmd, timeout=60):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class Server:
    def __init__(self, scli, db, log):
        self.log = open(log, "w+")
        self.proc = subprocess.Popen([scli, "--database", db, "serve", "--listen", "127.0.0.1:0",
                                      "--threads", "2"], stdout=subprocess.DEVNULL, stderr=self.log)
        self.base = None
        for _ in range(300):
            self.log.seek(0)
            m = re.search(r"^scli: serving on (http://\S+)", self.log.read(), re.M)
            if m:
                self.base = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.log.seek(0)
        raise RuntimeError("scli serve did not start: " + self.log.read())

    def get(self, target, accept=None):
        req = urllib.request.Request(self.base + target, headers={"Accept": accept} if accept else {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8", "replace")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Checker:
    """Counts and reports checks; cases run on a few threads at once."""

    def __init__(self):
        self.passed = self.failed = 0
        self.lock = threading.Lock()

    def ok(self, cond, backend, what, detail=()):
        with self.lock:
            if cond:
                self.passed += 1
                return True
            self.failed += 1
            print("\n    ".join(["FAIL [%s]: %s" % (backend, what)] + list(detail)), file=sys.stderr)
            return False


def check_case(chk, scli, backend, db, server, case, want, want_csv):
    cli = [scli, "--database", db, "count"] + case.cli_args()
    shown = shlex.join(cli)
    url = server.base + case.http_target()
    if case.error:
        rc, out, err = run(cli + ["--format", "json"])
        chk.ok(rc == 2 and case.error in err, backend, "usage error naming %s: %s" % (case.error, shown),
               ["exit %d, stderr: %s" % (rc, err.strip())])
        status, ctype, body = server.get(case.http_target())
        chk.ok(status == 400 and case.error in body and ctype.startswith("application/json"), backend,
               "HTTP 400 naming %s: curl -s '%s'" % (case.error, url), ["HTTP %d: %s" % (status, body.strip())])
        return
    rc, out, err = run(cli + ["--format", "json"])
    got = None
    if rc == 0:
        try:
            got = json.loads(out)
        except ValueError:
            got = out
    diff = differences(want, got) if rc == 0 else ["exit %d, stderr: %s" % (rc, err.strip())]
    chk.ok(not diff, backend, "%s --format json" % shown, diff)
    status, ctype, body = server.get(case.http_target())
    hdiff = ["HTTP %d: %s" % (status, body.strip()[:300])]
    if status == 200:
        try:
            hdiff = differences(want, json.loads(body))
        except ValueError:
            hdiff = ["not JSON: %.300s" % body]
    chk.ok(not hdiff, backend, "curl -s '%s'" % url, hdiff)
    if status == 200 and rc == 0:
        chk.ok(body == out, backend, "HTTP body byte-identical to the CLI's JSON: curl -s '%s'" % url,
               ["HTTP: %.300s" % body, "CLI:  %.300s" % out])
    if not case.csv_too:
        return
    rc, out, err = run(cli + ["--format", "csv"])
    chk.ok(rc == 0 and out == want_csv, backend, "%s --format csv" % shown, csv_diff(want_csv, out, rc, err))
    for fmt, accept in (("csv", None), (None, "text/csv")):
        status, ctype, body = server.get(case.http_target(fmt), accept)
        how = "format=csv" if fmt else "Accept: text/csv"
        chk.ok(status == 200 and body == want_csv and ctype.startswith("text/csv"), backend,
               "CSV (%s): curl -s%s '%s'" % (how, "" if fmt else " -H 'Accept: text/csv'",
                                             server.base + case.http_target(fmt)),
               ["HTTP %d, Content-Type %s" % (status, ctype)] + csv_diff(want_csv, body, 0, ""))


def csv_diff(want, got, rc, err):
    if rc != 0:
        return ["exit %d, stderr: %s" % (rc, err.strip())]
    w, g = want.split("\r\n"), got.split("\r\n")
    out = []
    for i in range(max(len(w), len(g))):
        x = w[i] if i < len(w) else "(none)"
        y = g[i] if i < len(g) else "(none)"
        if x != y:
            out.append("line %d: expected %r, got %r" % (i + 1, x, y))
        if len(out) >= 4:
            break
    return out


def check(argv):
    import argparse
    p = argparse.ArgumentParser(prog="windows_oracle.py check")
    p.add_argument("--scli", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--database", action="append", required=True, help="NAME=URL (an empty database)")
    p.add_argument("--every", type=int, default=1, help="only every Nth case (slow builds)")
    args = p.parse_args(argv)
    chk = Checker()
    t0 = time.monotonic()
    path = os.path.join(args.work, "windows-events.csv")
    rows, repeats = write_events(path)
    ev = Events(rows)
    cases = build_cases()[::args.every]
    answers = []
    for case in cases:
        if case.error:
            answers.append((None, None))
            continue
        want = expected(case, ev)
        answers.append((want, expected_csv(want, case.group)))
    print("oracle: %d events (%d repeats), %d cases, expected answers in %.1f s"
          % (len(rows), repeats, len(cases), time.monotonic() - t0), file=sys.stderr)
    for spec in args.database:
        backend, db = spec.split("=", 1)
        t1 = time.monotonic()
        rc, out, err = run([args.scli, "--database", db, "init-db"])
        if not chk.ok(rc == 0, backend, "init-db", [err.strip()]):
            continue
        rc, out, err = run([args.scli, "--database", db, "load", "--collector", "csv", "--config", path,
                            "--quiet"], timeout=300)
        chk.ok(rc == 0 and re.search(r"\binserted=%d duplicates=%d " % (ev.stored, repeats), out),
               backend, "load: %d inserted and %d duplicates expected" % (ev.stored, repeats),
               ["exit %d: %s %s" % (rc, out.strip(), err.strip())])
        server = Server(args.scli, db, os.path.join(args.work, "serve-%s.log" % backend))
        try:
            # each case is a few processes and requests that mostly wait: three at a time
            with ThreadPoolExecutor(max_workers=3) as pool:
                for f in [pool.submit(check_case, chk, args.scli, backend, db, server, case, want, want_csv)
                          for case, (want, want_csv) in zip(cases, answers)]:
                    f.result()
        finally:
            chk.ok(server.stop() == 0, backend, "serve exits 0 on SIGTERM")
        print("oracle [%s]: compared in %.1f s" % (backend, time.monotonic() - t1), file=sys.stderr)
    print("passed=%d failed=%d" % (chk.passed, chk.failed))
    return 1 if chk.failed else 0


def expect(argv):
    """The oracle's JSON for `scli count` arguments (the generated file loaded)."""
    import argparse
    p = argparse.ArgumentParser(prog="windows_oracle.py expect")
    p.add_argument("--from", dest="frm", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--window", default="hour")
    p.add_argument("--tz", default="UTC")
    p.add_argument("--event-type", dest="types", action="append", default=[])
    p.add_argument("--group-by", dest="group", choices=["event_type"])
    p.add_argument("--customer", dest="customers", action="append", default=[])
    p.add_argument("--skip-empty", action="store_true")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    a = p.parse_args(argv)
    case = Case(a.frm, a.to, a.window, a.tz, a.types, bool(a.group), a.customers, a.skip_empty)
    doc = expected(case, Events(generate()[0]))
    sys.stdout.write(expected_csv(doc, case.group) if a.format == "csv" else
                     json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n")
    return 0


def cases(argv):
    """The cases as `scli count` arguments (for tests that compare other ways to an answer)."""
    write_events(argv[0])
    for case in build_cases():
        print(json.dumps({"args": case.cli_args(), "error": case.error}))
    return 0


def main():
    check_quarter_hours()
    self_test()
    if len(sys.argv) >= 3 and sys.argv[1] == "cases":
        return cases(sys.argv[2:])
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        rows, repeats = write_events(sys.argv[2])
        print("%d rows, %d repeating an earlier identity" % (len(rows), repeats), file=sys.stderr)
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "expect":
        return expect(sys.argv[2:])
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        return check(sys.argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
