#!/usr/bin/env bash
# make image-check: prove the Dockerfile's runtime stage without a Docker engine.
# Builds a bookworm minbase root file system with debootstrap, installs exactly
# the RUNTIME_PACKAGES the Dockerfile names (read from it, not repeated here),
# creates the same non-root user, copies the scli binary in, and runs, inside a
# chroot as that user: scli --version, init-db, load of data/sample.csv, count.
# A shared library missing from RUNTIME_PACKAGES fails it. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
start=$(date +%s)

[ "$(id -u)" -eq 0 ] || { echo "image-check: must run as root (debootstrap, chroot)" >&2; exit 1; }
[ -x "$BUILD/scli" ] || { echo "image-check: $BUILD/scli is missing (make build)" >&2; exit 1; }
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null

pkgs=$(sed -n 's/^ARG RUNTIME_PACKAGES="\(.*\)"$/\1/p' Dockerfile)
[ -n "$pkgs" ] || { echo "image-check: no ARG RUNTIME_PACKAGES=\"...\" line in the Dockerfile" >&2; exit 1; }
uid=$(sed -n 's/.*useradd .*--uid \([0-9]*\).*/\1/p' Dockerfile)
: "${uid:=10001}"

# The Debian mirror this machine's apt already uses (deb822 or one-line format).
mirror=$( { awk '/^URIs:/ {u=$2} /^Suites:/ && u && $0 !~ /security/ {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null;
	    awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null; } | head -1 || true)
[ -n "$mirror" ] || { echo "image-check: cannot find this machine's Debian mirror in /etc/apt" >&2; exit 1; }

root=$(mktemp -d /tmp/scli-image.XXXXXX)
chmod 755 "$root" # it becomes /, which the non-root user must traverse
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT

echo "image-check: debootstrap bookworm (minbase)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
echo "image-check: installing the runtime packages: $pkgs"
chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs" \
	>"$root/../$(basename "$root").apt.log" 2>&1 || { cat "$root/../$(basename "$root").apt.log" >&2; exit 1; }
rm -f "$root/../$(basename "$root").apt.log"
chroot "$root" sh -c "groupadd --system --gid $uid scli && useradd --system --uid $uid --gid $uid --home-dir /var/lib/scli --create-home scli" 2>/dev/null
install -m 0755 "$BUILD/scli" "$root/usr/local/bin/scli"
install -m 0644 -o "$uid" -g "$uid" data/sample.csv "$root/var/lib/scli/sample.csv"

missing=$(chroot "$root" ldd /usr/local/bin/scli | grep 'not found' || true)
[ -z "$missing" ] || { echo "image-check: FAIL: shared libraries missing from RUNTIME_PACKAGES:
$missing" >&2; exit 1; }
for tool in cc gcc make cmake; do
	! chroot "$root" sh -c "command -v $tool" >/dev/null || { echo "image-check: FAIL: $tool in the runtime image" >&2; exit 1; }
done

as_user() { chroot --userspec="$uid:$uid" "$root" env HOME=/var/lib/scli SCLI_DATABASE=sqlite:/var/lib/scli/scli.db "$@"; }
as_user /usr/local/bin/scli --version
as_user /usr/local/bin/scli init-db
as_user /usr/local/bin/scli load --collector csv --config /var/lib/scli/sample.csv --quiet
out=$(as_user /usr/local/bin/scli count --customer bdd732262feb6e9528efe333b266f103 --from 2021-03-01T04:00:00Z --to 2021-03-01T06:00:00Z --format csv)
echo "$out"
expected=$(printf 'customer_id,bucket_start,count,partial\r\nbdd732262feb6e9528efe333b266f103,2021-03-01T04:00:00Z,60,false\r\nbdd732262feb6e9528efe333b266f103,2021-03-01T05:00:00Z,50,false\r')
[ "$out" = "$expected" ] || { echo "image-check: FAIL: unexpected counts inside the image" >&2; exit 1; }
# --tz reads the image's time zone database (tzdata): a New York day is 05:00Z to 05:00Z in March
out=$(as_user /usr/local/bin/scli count --customer bdd732262feb6e9528efe333b266f103 --from 2021-03-01 --to 2021-03-02 --window day --tz America/New_York --format csv) \
	|| { echo "image-check: FAIL: --tz America/New_York inside the image (tzdata missing?)" >&2; exit 1; }
case "$out" in *",2021-03-01T00:00:00-05:00,"*) ;; *) echo "image-check: FAIL: New York day inside the image: $out" >&2; exit 1 ;; esac
echo "image-check: 1 passed, 0 failed ($(( $(date +%s) - start )) s)"
