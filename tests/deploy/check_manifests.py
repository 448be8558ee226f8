#!/usr/bin/env python3
"""Check the Kubernetes manifests in deploy/k8s: they parse, carry the fields an
operator relies on, keep secrets out, and every command they run is a real scli
subcommand with real flags (asked of the scli binary itself).

usage: check_manifests.py SCLI_BINARY MANIFEST_DIR
Prints one line per failed check and 'manifests: N passed, M failed'."""
import glob
import os
import re
import subprocess
import sys

import yaml

scli, mdir = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


def help_text(*args):
    return subprocess.run([scli, *args, "--help"], capture_output=True, text=True).stdout


commands = set(re.findall(r"^  ([a-z][a-z-]+) ", help_text(), re.M))
check({"init-db", "load", "count"} <= commands, "scli --help lists its commands: %s" % commands)

docs = {}
for path in sorted(glob.glob(os.path.join(mdir, "*.yaml"))):
    try:
        docs[path] = [d for d in yaml.safe_load_all(open(path)) if d]
        check(True, path)
    except yaml.YAMLError as e:
        check(False, "%s does not parse: %s" % (path, e))
check(len(docs) >= 4, "secret, init-db job, cronjob, deployment present: %s" % list(docs))
by_kind = {}
for path, ds in docs.items():
    for d in ds:
        by_kind.setdefault(d["kind"], []).append((path, d))


def pod_spec(d):
    if d["kind"] == "CronJob":
        return d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if d["kind"] in ("Job", "Deployment"):
        return d["spec"]["template"]["spec"]
    return None


for kind in ("CronJob", "Job", "Deployment"):
    check(kind in by_kind, "a %s manifest exists" % kind)
    for path, d in by_kind.get(kind, []):
        spec = pod_spec(d)
        check(spec.get("securityContext", {}).get("runAsNonRoot") is True, "%s: runAsNonRoot" % path)
        for c in spec["containers"]:
            name = "%s container %s" % (path, c["name"])
            sc = c.get("securityContext", {})
            check(sc.get("readOnlyRootFilesystem") is True, name + ": readOnlyRootFilesystem")
            check(sc.get("allowPrivilegeEscalation") is False, name + ": no privilege escalation")
            res = c.get("resources", {})
            check("requests" in res and "limits" in res, name + ": resource requests and limits")
            check(c.get("image", "").split("/")[-1].startswith("scli:"), name + ": runs the scli image")
            args = c.get("args") or []
            check(bool(args) and args[0] in commands, name + ": '%s' is a scli subcommand" % (args[:1],))
            if args and args[0] in commands:
                sub_help = help_text(args[0])
                for flag in [a for a in args[1:] if a.startswith("--")]:
                    check(flag in sub_help, name + ": flag %s is in `scli %s --help`" % (flag, args[0]))
            for e in c.get("env", []):
                check("value" not in e or "PASSWORD" not in e["name"].upper(),
                      name + ": no literal password in env " + e["name"])
            uses_secret = any(r.get("secretRef", {}).get("name") == "scli-database"
                              for r in c.get("envFrom", []))
            check(uses_secret, name + ": database settings come from the scli-database Secret")

for path, cj in by_kind.get("CronJob", []):
    s = cj["spec"]
    check(s.get("concurrencyPolicy") == "Forbid", path + ": concurrencyPolicy Forbid")
    job = s["jobTemplate"]["spec"]
    check("backoffLimit" in job, path + ": backoffLimit")
    check("activeDeadlineSeconds" in job, path + ": activeDeadlineSeconds (deadline)")
    spec = pod_spec(cj)
    mounts = [m for c in spec["containers"] for m in c.get("volumeMounts", [])]
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    check(any(m.get("readOnly") and vols.get(m["name"], {}).get("persistentVolumeClaim") for m in mounts),
          path + ": the input volume is mounted read-only")
    args = spec["containers"][0]["args"]
    check(args[0] == "load" and "--config" in args, path + ": runs scli load --config")
    # the rejects file outlives the pod: on a writable persistent volume, outside the inputs
    if "--rejects" in args:
        rejects = args[args.index("--rejects") + 1]
        config = args[args.index("--config") + 1]
        mount = max((m for m in mounts if rejects.startswith(m["mountPath"].rstrip("/") + "/")),
                    key=lambda m: len(m["mountPath"]), default=None)
        check(mount is not None and not mount.get("readOnly")
              and vols.get(mount["name"], {}).get("persistentVolumeClaim"),
              path + ": --rejects %s is on a writable persistent volume" % rejects)
        check(not rejects.startswith(config.rstrip("/") + "/"),
              path + ": --rejects is outside the --config input")

for path, dep in by_kind.get("Deployment", []):
    spec = pod_spec(dep)
    c = spec["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        check(c.get(probe, {}).get("httpGet", {}).get("path") == "/healthz", path + ": %s on /healthz" % probe)
    check(10 <= spec.get("terminationGracePeriodSeconds", 0) <= 120,
          path + ": terminationGracePeriodSeconds fits a graceful shutdown")
    check(c["args"][0] == "serve", path + ": runs scli serve")
check("Service" in by_kind, "a Service exposes scli serve")

for path, sec in by_kind.get("Secret", []):
    data = sec.get("stringData", {})
    url = data.get("SCLI_DATABASE", "")
    check(url != "", path + ": has SCLI_DATABASE")
    userinfo = url.split("://", 1)[-1].split("@", 1)[0] if "@" in url else ""
    check(":" not in userinfo, path + ": no password inside the database URL")
    check(data.get("PGPASSWORD", "REPLACE-ME") == "REPLACE-ME", path + ": the password is only a placeholder")

print("manifests: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
