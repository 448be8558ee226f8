#!/usr/bin/env python3
"""The independent oracle for scli's windows (tests/integration/test_window_oracle.c).

For each zone, each clock change in 2021 and 2040 (2040 is past the listed
changes: the TZif footer's POSIX rule decides it) and each window size, it
finds the window starts by brute force -- stepping through the instants and
marking those at which the zone's clock, per Python's zoneinfo, shows a whole
minute, a whole hour, a date it has not shown before, or the 1st of a month it
has not shown before -- and prints the windows overlapping a range around the
change, with their partial flags and printed starts. It also prints, for wall
clock times around each change, the earliest instant showing them, or GAP.

Output (one record a line; instants are integer microseconds since the epoch):
  CASE <zone> <size> <from> <to>
  W <start> <end> <partial 0|1> <start as RFC 3339>
  P <YYYY-MM-DDTHH:MM> <instant>|GAP
Exit 77 when zoneinfo or the time zone database is missing.
"""
import sys
from datetime import datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo
    ZoneInfo("America/New_York")
except Exception:  # no zoneinfo module, or no database behind it
    sys.exit(77)

UTC = timezone.utc
USUAL = (2021, 2040)
# America/St_Johns until 2011 and America/Moncton until 2006 ended DST at
# 00:01, taking the clock back across midnight to 23:01 of the day before:
# the date already shown must not start a second day.
ZONES = [
    ("UTC", USUAL), ("America/New_York", USUAL), ("Europe/Berlin", USUAL),
    ("Australia/Lord_Howe", USUAL), ("Asia/Kolkata", USUAL), ("Asia/Kathmandu", USUAL),
    ("America/St_Johns", USUAL + (2010,)), ("America/Moncton", (2005,)),
    ("America/Santiago", USUAL), ("America/Havana", USUAL), ("Asia/Gaza", USUAL),
    ("Europe/London", USUAL), ("+05:30", USUAL), ("-03:30", USUAL), ("+14:00", USUAL),
]
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
# In 2021 and 2040 every offset and change of these zones falls on a quarter
# hour, so a month's scan (a third of a year) may step by 15 minutes there; the
# other sizes, and the 00:01 changes of older years, step by the minute.
STEP = {"minute": MINUTE, "hour": MINUTE, "day": MINUTE, "month": timedelta(minutes=15)}
# How far around a change each range reaches, and how far before it the scan
# starts so that the first window's start is seen.
REACH = {"minute": timedelta(minutes=90), "hour": timedelta(days=2), "day": timedelta(days=3),
         "month": timedelta(days=40)}
MARGIN = {"minute": timedelta(minutes=2), "hour": timedelta(hours=3), "day": timedelta(days=2),
          "month": timedelta(days=32)}


def zone_of(name):
    if name[0] in "+-":
        sign = -1 if name[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(name[1:3]), minutes=int(name[4:6])))
    return UTC if name == "UTC" else ZoneInfo(name)


def us(dt):
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def changes(zone, year):
    """Instants in `year` at which the offset changes: hour by hour, then to the minute."""
    t, end, found = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC), []
    prev = t.astimezone(zone).utcoffset()
    while t < end:
        off = (t + HOUR).astimezone(zone).utcoffset()
        if off != prev:
            m = t + MINUTE
            while m.astimezone(zone).utcoffset() == prev:
                m += MINUTE
            found.append(m)
        prev, t = off, t + HOUR
    return found


def clock_key(size, local):
    """What a window of `size` is named by on the clock: a new one starts where it changes
    (minutes, hours: every whole one) or first exceeds all shown before (days, months)."""
    if size == "minute":
        return (local.second, local.microsecond) == (0, 0)
    if size == "hour":
        return (local.minute, local.second, local.microsecond) == (0, 0, 0)
    return local.date() if size == "day" else (local.year, local.month)


def starts(zone, size, lo, hi):
    """Window starts in [lo, hi], stepping from lo (on the step's UTC grid)."""
    step = STEP[size] if lo.year in USUAL else MINUTE
    t = datetime(lo.year, lo.month, lo.day, tzinfo=UTC)
    while t + step <= lo:
        t += step
    latest, found = clock_key(size, t.astimezone(zone)), []
    while t <= hi:
        key = clock_key(size, t.astimezone(zone))
        if key is True or (key is not False and key > latest):
            found.append(t)
            latest = key
        t += step
    return found


def printed(zone_name, zone, t):
    text = t.astimezone(zone).isoformat()
    if zone_name == "UTC":
        text = text.replace("+00:00", "Z")
    return text


def case(zone_name, zone, size, a, b):
    print("CASE", zone_name, size, us(a), us(b))
    s = starts(zone, size, a - MARGIN[size], b + MARGIN[size])
    first = max(i for i, x in enumerate(s) if x <= a)
    i = first
    while s[i] < b:
        start, end = s[i], s[i + 1]
        partial = 1 if start < a or end > b else 0
        print("W", us(start), us(end), partial, printed(zone_name, zone, start))
        i += 1


def wall_clock(zone, around):
    """Wall-clock readings from 3 hours before to 3 hours after `around`, by the quarter hour."""
    local = around.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    local -= timedelta(minutes=local.minute % 15)
    for k in range(-12, 13):
        wall = local + k * timedelta(minutes=15)
        first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        shown = first.astimezone(zone).replace(tzinfo=None) == wall
        print("P", wall.strftime("%Y-%m-%dT%H:%M"), us(first) if shown else "GAP")


def main():
    for name, years in ZONES:
        zone = zone_of(name)
        centres = [c for y in years for c in changes(zone, y)]
        if not centres:  # a zone without changes: the US dates, for the same ranges
            centres = [datetime(2021, 3, 14, 7, tzinfo=UTC), datetime(2021, 11, 7, 6, tzinfo=UTC)]
        for c in centres:
            for size in ("minute", "hour", "day", "month"):
                odd = timedelta(minutes=17, seconds=7, microseconds=500000)
                case(name, zone, size, c - REACH[size] + odd, c + REACH[size] - odd)
            # from just after the change: where the clock went back across
            # midnight, inside a date it shows a second time
            for size in ("hour", "day"):
                case(name, zone, size, c + timedelta(minutes=1, seconds=7.5), c + timedelta(days=2))
            # whole windows at both ends: nothing partial
            day = (c.astimezone(zone) - timedelta(days=1)).date()
            lo = datetime(day.year, day.month, day.day, tzinfo=zone)
            case(name, zone, "hour", lo.astimezone(UTC), (lo + timedelta(days=3)).astimezone(UTC))
            wall_clock(zone, c)


main()
