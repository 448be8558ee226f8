#!/usr/bin/env python3
"""Drive Debian's chromium, headless, through the page `scli serve` answers GET / with
(issue 17), and print what the page shows. Python's standard library only: chromium
speaks the DevTools protocol on two pipes (--remote-debugging-pipe: it reads commands
on fd 3 and writes answers and events on fd 4, each a JSON text ended by a NUL).

  page_driver.py [--chromium BIN] [--log FILE] [--timeout S] STEP...
  page_driver.py canon < FILE        the JSON on stdin with sorted keys, compact

Steps, in order, in one browser tab:
  open:URL          load URL; wait until the page has settled
  fill:NAME=VALUE   set a field of the query form (`\\n` in VALUE: a new line;
                    the group_by box: on or off)
  submit            press Count; wait until the page has settled
  token:VALUE       type VALUE into the token prompt and send it; wait
  back              the browser's back button; wait
  probe-csp         insert an inline script of the page's own making and report
                    whether the Content-Security-Policy let it run (probe.ran=...)
  report:NAME       print what the page shows, one `NAME.key=value` line each
  shot:FILE         save a PNG of the whole page

The page has settled when its body's data-state is idle, done, error or token (and,
after an action, its data-runs moved on). A report says: the state; the URL; the
error shown (empty when none); whether the token prompt shows; the status line;
what the browser stores (localStorage, sessionStorage, cookies: none expected);
each series with its customer, event type, total (data and visible text), its bars'
counts (data-count), their visible count labels, partial flags, which bars are drawn
hatched (computed fill), their titles; the view as `count --format json` would print
it (canonical: sorted keys); every URL the tab requested since the last report;
whether each /v1/usage request carried a bearer token; console errors and
exceptions since the last report. Exit status 0 when every step ran, 2 when one
timed out or failed (the reason on stderr).
"""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

SETTLED = ("idle", "done", "error", "token")


class Failed(Exception):
    pass


class Browser:
    def __init__(self, chromium, log, deadline):
        self.deadline = deadline
        self.profile = tempfile.mkdtemp(prefix="scli-page-chromium.")
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()

        def pipes_at_3_and_4():  # in the child, before exec
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        args = [chromium, "--headless", "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--mute-audio", "--hide-scrollbars", "--window-size=1100,600",
                "about:blank"]
        if os.geteuid() == 0:  # chromium's sandbox refuses to run as root
            args.insert(1, "--no-sandbox")
        self.log = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     close_fds=False, preexec_fn=pipes_at_3_and_4)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.session = None
        self.events = []

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.call("Browser.close", session=False, timeout=5)
                except Failed:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for fd in (self.to_w, self.from_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self.log is not subprocess.DEVNULL:
                self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, until):
        while b"\0" not in self.buf:
            left = until - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.from_r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.from_r, 1 << 16)
            if not chunk:
                raise Failed("chromium closed its DevTools pipe (exit status %s)" % self.proc.poll())
            self.buf += chunk
        text, self.buf = self.buf.split(b"\0", 1)
        return json.loads(text)

    def call(self, method, params=None, session=True, timeout=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        until = min(self.deadline, time.monotonic() + (timeout or 30))
        while True:
            m = self._read_message(until)
            if m is None:
                raise Failed("no answer to %s in time" % method)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Failed("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def pump(self, seconds):
        """Take in the events that arrive within `seconds`."""
        until = time.monotonic() + seconds
        while True:
            m = self._read_message(until)
            if m is None:
                return
            if "method" in m:
                self.events.append(m)

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise Failed("page script failed: %s" % json.dumps(r["exceptionDetails"])[:500])
        return r.get("result", {}).get("value")


STATE_JS = """(() => document.body ? [document.body.getAttribute("data-state"),
    document.body.getAttribute("data-runs")] : [null, null])()"""

REPORT_JS = r"""(() => {
  const $ = (s, root) => (root || document).querySelector(s);
  const shown = e => !!e && e.getClientRects().length > 0; // rendered, whatever the markup says
  const res = $("#result");
  const grouped = res.getAttribute("data-group-by") === "event_type";
  const series = [...document.querySelectorAll("#result .series")].map(s => {
    const bars = [...s.querySelectorAll("g.bar")];
    return {
      customer: s.getAttribute("data-customer"),
      event_type: grouped ? s.getAttribute("data-event-type") : undefined,
      total: Number(s.getAttribute("data-total")),
      total_text: $(".total-count", s) ? $(".total-count", s).textContent : null,
      counts: bars.map(g => Number(g.getAttribute("data-count"))),
      starts: bars.map(g => g.getAttribute("data-start")),
      partial: bars.map(g => g.getAttribute("data-partial") === "true"),
      labels: bars.map(g => $("text.count", g) ? $("text.count", g).textContent : ""),
      hatched: bars.map(g => getComputedStyle($("rect.bar-rect", g)).fill.startsWith("url(")),
      titles: bars.map(g => $("title", g) ? $("title", g).textContent : ""),
    };
  });
  const view = res.hasAttribute("data-from") ? {
    from: res.getAttribute("data-from"), to: res.getAttribute("data-to"),
    window: res.getAttribute("data-window"), time_zone: res.getAttribute("data-time-zone"),
    customers: series.map(s => {
      const c = {customer_id: s.customer, total: s.total,
                 buckets: s.counts.map((n, i) => ({start: s.starts[i], count: n, partial: s.partial[i]}))};
      if (grouped) c.event_type = s.event_type;
      return c;
    }),
  } : null;
  if (view && res.hasAttribute("data-event-types"))
    view.event_types = JSON.parse(res.getAttribute("data-event-types"));
  const grand = $("#summary .grand");
  return {
    state: document.body.getAttribute("data-state"),
    url: location.pathname + location.search,
    error: shown($("#error")) ? $("#error").textContent : "",
    token_prompt: shown($("#token-form")) ? "shown" : "hidden",
    status: $("#status").textContent,
    stored: localStorage.length + sessionStorage.length + (document.cookie ? 1 : 0),
    form: Object.fromEntries(["customer", "from", "to", "window", "tz", "event_type"].map(
      k => [k, document.forms.query.elements[k].value])),
    grand_total: grand ? grand.getAttribute("data-total") + " " + grand.textContent : "",
    injected: document.querySelectorAll("#result img, #result script, #result iframe").length,
    text: document.body.innerText,
    series: series,
    view: view,
  };
})()"""


def settle(b, before_runs, what):
    """Wait until the page has settled after `what` (runs moved on, when known)."""
    state = None
    while time.monotonic() < b.deadline:
        try:
            state, runs = b.evaluate(STATE_JS)
        except Failed:  # a navigation in between: no document yet
            state, runs = None, None
        if state in SETTLED and (before_runs is None or runs != before_runs):
            return state
        b.pump(0.05)
    raise Failed("the page did not settle after %s (data-state %s)" % (what, state))


def runs_now(b):
    return b.evaluate(STATE_JS)[1]


def flat(v):
    return str(v).replace("\\", "\\\\").replace("\n", "\\n")


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def take_events(b):
    requests, auth, problems = [], [], []
    for m in b.events:
        p = m.get("params", {})
        if m["method"] == "Network.requestWillBeSent":
            url = p["request"]["url"]
            requests.append(url)
            if "/v1/usage" in url:
                h = {k.lower(): v for k, v in p["request"].get("headers", {}).items()}
                auth.append("bearer" if h.get("authorization", "").startswith("Bearer ") else "none")
        elif m["method"] == "Log.entryAdded":
            e = p["entry"]
            # a 4xx the page asked for (and shows) is logged as a network error: not a problem
            if e.get("level") == "error" and e.get("source") != "network":
                problems.append(e.get("text", ""))
        elif m["method"] == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            problems.append(d.get("exception", {}).get("description") or d.get("text", ""))
        elif m["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            problems.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
    b.events = []
    return requests, auth, problems


def report(b, name):
    b.pump(0.2)  # late console messages
    r = b.evaluate(REPORT_JS)
    requests, auth, problems = take_events(b)
    out = []
    for k in ("state", "url", "error", "token_prompt", "status", "stored", "grand_total", "injected"):
        out.append((k, r[k]))
    for k, v in r["form"].items():
        out.append(("form." + k, v))
    out.append(("text", r["text"]))
    out.append(("series", len(r["series"])))
    for i, s in enumerate(r["series"]):
        pre = "series.%d." % i
        out.append((pre + "customer", s["customer"]))
        if "event_type" in s:  # grouped by event type; null: a customer without events
            out.append((pre + "event_type", "null" if s["event_type"] is None else s["event_type"]))
        out.append((pre + "total", s["total"]))
        out.append((pre + "total_text", s["total_text"]))
        out.append((pre + "counts", ",".join(str(n) for n in s["counts"])))
        out.append((pre + "labels", ",".join(s["labels"])))
        out.append((pre + "starts", ",".join(s["starts"])))
        out.append((pre + "partial", ",".join("true" if x else "false" for x in s["partial"])))
        out.append((pre + "hatched", ",".join("true" if x else "false" for x in s["hatched"])))
        out.append((pre + "titles", "|".join(s["titles"])))
    out.append(("json", canon(r["view"]) if r["view"] else ""))
    out.append(("requests", " ".join(requests)))
    out.append(("auth", " ".join(auth)))
    out.append(("problems", "|".join(problems)))
    for k, v in out:
        print("%s.%s=%s" % (name, k, flat(v)))
    sys.stdout.flush()


def screenshot(b, path):
    m = b.call("Page.getLayoutMetrics")
    size = m.get("cssContentSize") or m["contentSize"]
    shot = b.call("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))


def step(b, s):
    verb, _, arg = s.partition(":")
    if verb == "open":
        before = len(b.events)
        b.call("Page.navigate", {"url": arg})
        until = time.monotonic() + 20
        while not any(m["method"] == "Page.loadEventFired" for m in b.events[before:]):
            if time.monotonic() > min(until, b.deadline):
                raise Failed("%s did not load" % arg)
            b.pump(0.05)
        settle(b, None, "loading " + arg)
    elif verb == "fill":
        name, _, value = arg.partition("=")
        value = value.replace("\\n", "\n")
        js = """((name, value) => { const e = document.forms.query.elements[name];
            if (!e) throw new Error("no field " + name);
            if (e.type === "checkbox") e.checked = value === "on"; else e.value = value; })(%s, %s)"""
        b.evaluate(js % (json.dumps(name), json.dumps(value)))
    elif verb == "submit":
        before = runs_now(b)
        b.evaluate("document.forms.query.requestSubmit()")
        settle(b, before, "submit")
    elif verb == "token":
        before = runs_now(b)
        b.evaluate("""((v) => { const f = document.getElementById("token-form");
            f.elements.token.value = v; f.requestSubmit(); })(%s)""" % json.dumps(arg))
        settle(b, before, "token")
    elif verb == "back":
        before = runs_now(b)
        b.evaluate("history.back()")
        settle(b, before, "back")
    elif verb == "probe-csp":
        ran = b.evaluate("""(() => { const s = document.createElement("script");
            s.textContent = "document.body.setAttribute('data-probe', 'ran')";
            document.body.appendChild(s); return document.body.getAttribute("data-probe") === "ran"; })()""")
        b.pump(0.3)
        _, _, problems = take_events(b)
        print("probe.ran=%s" % ("true" if ran else "false"))
        print("probe.problems=%s" % flat("|".join(problems)))
    elif verb == "report":
        report(b, arg)
    elif verb == "shot":
        screenshot(b, arg)
    else:
        raise Failed("unknown step %r" % s)


def main(argv):
    if argv[:1] == ["canon"]:
        print(canon(json.load(sys.stdin)))
        return 0
    chromium, log, timeout = "chromium", None, 120.0
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--chromium":
            chromium = argv.pop(0)
        elif opt == "--log":
            log = argv.pop(0)
        elif opt == "--timeout":
            timeout = float(argv.pop(0))
        else:
            print("page_driver.py: unknown option %s" % opt, file=sys.stderr)
            return 2
    b = Browser(chromium, log, time.monotonic() + timeout)
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        b.session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.call(domain + ".enable")
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": 1100, "height": 600, "deviceScaleFactor": 1, "mobile": False})
        for s in argv:
            step(b, s)
    except Failed as e:
        print("page_driver.py: %s" % e, file=sys.stderr)
        return 2
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
