#!/usr/bin/env bash
# make image-check: prove the Dockerfile's runtime stage and the Debian package
# without a Docker engine. Builds a bookworm minbase root file system with
# debootstrap and makes two copies of it:
#  - the image: as the Dockerfile's runtime stage does, installs the package with
#    --no-install-recommends and the RUNTIME_PACKAGES the Dockerfile names (read
#    from it, not repeated here) and creates the same non-root user; no compiler
#    may come with it;
#  - the package: `apt-get install -y ./scli_<version>_<arch>.deb` (make deb), its
#    Depends resolved from the Debian mirror; a missing Depends fails it.
# In each, inside a chroot as a non-root user: scli --version, init-db, a load of
# data/sample.csv, counts (UTC hours and a New York day). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
start=$(date +%s)

[ "$(id -u)" -eq 0 ] || { echo "image-check: must run as root (debootstrap, chroot)" >&2; exit 1; }
deb=$(ls -t "$BUILD"/scli_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "image-check: no $BUILD/scli_*.deb (make deb)" >&2; exit 1; }
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
debroot=$root.deb
chmod 755 "$root" # it becomes /, which the non-root user must traverse
cleanup() {
	umount "$root/proc" "$debroot/proc" 2>/dev/null || true
	rm -rf "$root" "$debroot" "$root.log"
}
trap cleanup EXIT

echo "image-check: debootstrap bookworm (minbase)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp -a "$root" "$debroot" # the same fresh root, for the package
mount -t proc proc "$root/proc"
mount -t proc proc "$debroot/proc"

# in_root ROOT COMMAND: a shell command inside ROOT, as root; its output goes to
# $root.log, shown only when it fails.
in_root() {
	chroot "$1" sh -c "$2" >"$root.log" 2>&1 || { cat "$root.log" >&2; return 1; }
}
# as_user ROOT ARGS...: runs ARGS inside ROOT as the non-root user, in its home.
as_user() {
	local r=$1
	shift
	chroot --userspec="$uid:$uid" "$r" sh -c 'cd /var/lib/scli && exec env HOME=/var/lib/scli SCLI_DATABASE=sqlite:/var/lib/scli/scli.db "$@"' sh "$@"
}
add_user() {
	chroot "$1" sh -c "groupadd --system --gid $uid scli && useradd --system --uid $uid --gid $uid --home-dir /var/lib/scli --create-home scli" 2>/dev/null
	install -m 0644 -o "$uid" -g "$uid" data/sample.csv "$1/var/lib/scli/sample.csv"
}
# check WHAT ROOT SCLI: no library missing, then version, init-db, load, counts.
check() {
	local what=$1 r=$2 scli=$3 out expected libs missing
	libs=$(chroot "$r" ldd "$scli") || { echo "image-check: FAIL: $what: ldd $scli" >&2; exit 1; }
	missing=$(printf '%s\n' "$libs" | grep 'not found' || true)
	[ -z "$missing" ] || { echo "image-check: FAIL: $what: shared libraries missing:
$missing" >&2; exit 1; }
	as_user "$r" "$scli" --version
	as_user "$r" "$scli" init-db
	as_user "$r" "$scli" load --collector csv --config sample.csv --quiet
	out=$(as_user "$r" "$scli" count --customer bdd732262feb6e9528efe333b266f103 --from 2021-03-01T04:00:00Z --to 2021-03-01T06:00:00Z --format csv)
	echo "$out"
	expected=$(printf 'customer_id,bucket_start,count,partial\r\nbdd732262feb6e9528efe333b266f103,2021-03-01T04:00:00Z,60,false\r\nbdd732262feb6e9528efe333b266f103,2021-03-01T05:00:00Z,50,false\r')
	[ "$out" = "$expected" ] || { echo "image-check: FAIL: $what: unexpected counts" >&2; exit 1; }
	# --tz reads the root's time zone database (tzdata): a New York day is 05:00Z to 05:00Z in March
	out=$(as_user "$r" "$scli" count --customer bdd732262feb6e9528efe333b266f103 --from 2021-03-01 --to 2021-03-02 --window day --tz America/New_York --format csv) \
		|| { echo "image-check: FAIL: $what: --tz America/New_York (tzdata missing?)" >&2; exit 1; }
	case "$out" in *",2021-03-01T00:00:00-05:00,"*) ;; *) echo "image-check: FAIL: $what: New York day: $out" >&2; exit 1 ;; esac
	passed=$((passed + 1))
}
passed=0

# --- the Dockerfile's runtime stage ---------------------------------------------------------------
echo "image-check: image: installing $(basename "$deb") and the runtime packages: $pkgs"
cp "$deb" "$root/tmp/"
in_root "$root" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/$(basename "$deb") $pkgs"
add_user "$root"
for tool in cc gcc make cmake; do
	! chroot "$root" sh -c "command -v $tool" >/dev/null || { echo "image-check: FAIL: $tool in the runtime image" >&2; exit 1; }
done
check image "$root" /usr/bin/scli

# --- the Debian package, in a fresh root -----------------------------------------------------------
echo "image-check: package: apt-get install -y ./$(basename "$deb")"
cp "$deb" "$debroot/tmp/"
in_root "$debroot" "apt-get update -qq && cd /tmp && DEBIAN_FRONTEND=noninteractive apt-get install -y ./$(basename "$deb")"
for dep in libpq5 libsqlite3-0 libsodium23 tzdata; do # not in minbase: the package's Depends brought them
	chroot "$debroot" dpkg-query -W -f '${Status}\n' "$dep" 2>/dev/null | grep -q 'install ok installed' \
		|| { echo "image-check: FAIL: package: $dep was not installed by the package's Depends" >&2; exit 1; }
done
[ "$(chroot "$debroot" sh -c 'command -v scli')" = /usr/bin/scli ] || { echo "image-check: FAIL: package: scli is not /usr/bin/scli" >&2; exit 1; }
for f in /usr/share/man/man1/scli.1.gz /usr/share/man/man1/scli-count.1.gz \
	/usr/share/bash-completion/completions/scli /usr/share/zsh/vendor-completions/_scli; do
	[ -f "$debroot$f" ] || { echo "image-check: FAIL: package: no $f" >&2; exit 1; }
done
add_user "$debroot"
check package "$debroot" /usr/bin/scli
for f in $(chroot "$debroot" dpkg -L scli); do
	[ -d "$debroot$f" ] || echo "image-check: package file: $f"
done
echo "image-check: $passed passed, 0 failed ($(( $(date +%s) - start )) s)"
