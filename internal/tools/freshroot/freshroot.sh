#!/usr/bin/env bash
# freshroot.sh: run `make test` on a new machine, made here as a clean Debian
# bookworm root (docs/fresh-machine.md).
#
#   freshroot.sh test    a new root, the committed HEAD cloned into it, then
#                        `bash .ci/run` (make test) inside, as CI runs it
#   freshroot.sh deps    a new root with `make deps` done (FRESH_DEPS names
#                        other targets), for `guard`
#   freshroot.sh guard   in the root a `test` or `deps` run left: for
#                        each Debian package, Go program and npm package that
#                        make deps installs, remove it, check that the guard
#                        (make check-deps) fails naming it, put it back
#   freshroot.sh shell   a shell in the root, to look around
#
# The root has what a new machine of this project has before `make deps`:
# Debian bookworm (debootstrap --variant=minbase) with git, make, gcc,
# libc6-dev and ca-certificates, the host's Go at /usr/local/go and the
# host's Node.js and npm, and none of the packages `make deps` installs.
# Needs root, debootstrap (installed when missing), unshare and chroot.
#
# Environment:
#   FRESH_DIR     where the root and the logs go (/var/tmp/lbauthz-fresh)
#   FRESH_CACHE   the debootstrap result, kept to make the next run fast
#                 (/var/cache/lbauthz/bookworm-minbase.tar.gz); a run works
#                 without it and writes it
#   FRESH_MIRROR  the Debian mirror (default: the one apt uses on this host)
set -euo pipefail

cmd=${1:-test}
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
dir=${FRESH_DIR:-/var/tmp/lbauthz-fresh}
cache=${FRESH_CACHE:-/var/cache/lbauthz/bookworm-minbase.tar.gz}
root=$dir/root
suite=bookworm
# A new machine: build tools, git and certificates; Go and Node.js are copied.
include=git,make,gcc,libc6-dev,ca-certificates

log() { printf '%s freshroot: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"

# The Debian mirror apt uses on this host (sources.list or deb822 .sources).
mirror() {
  if [ -n "${FRESH_MIRROR:-}" ]; then echo "$FRESH_MIRROR"; return; fi
  local m
  m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ')
  echo "${m:-http://deb.debian.org/debian}"
}

# Nothing may be mounted under the root when it is removed: the mounts live
# in the private mount namespace of each run (unshare), so this only guards.
remove_root() {
  if grep -qF " $root/" /proc/self/mounts || grep -qF " $root " /proc/self/mounts; then
    die "something is mounted under $root: unmount it first"
  fi
  rm -rf --one-file-system "$root"
}

make_base() {
  if [ -s "$cache" ]; then
    log "root from the cache $cache"
    mkdir -p "$root"
    tar -xzf "$cache" -C "$root"
    return
  fi
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap >/dev/null ||
      { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap >/dev/null; }
  }
  local m
  m=$(mirror)
  log "debootstrap --variant=minbase --include=$include $suite $root $m"
  debootstrap --variant=minbase --include="$include" "$suite" "$root" "$m" >"$dir/debootstrap.log" 2>&1 ||
    { tail -n 20 "$dir/debootstrap.log" >&2; die "debootstrap failed (log: $dir/debootstrap.log)"; }
  # The suites a Debian machine follows, from the same mirror.
  cat >"$root/etc/apt/sources.list" <<EOF
deb ${m%/} $suite main
deb ${m%/} $suite-updates main
deb ${m%/}-security $suite-security main
EOF
  # As in Debian's container images: packages do not start their services
  # (there is no init here; the tests start their own servers).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  # A new machine has no package lists yet: make deps must fetch them.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  mkdir -p "$(dirname "$cache")"
  tar -czf "$cache.tmp" -C "$root" . && mv "$cache.tmp" "$cache"
  log "cached the root in $cache"
}

# What a new machine has besides Debian: Go at /usr/local/go, Node.js 20 and
# npm, both copied from this host, and the network settings.
add_machine() {
  local goroot node npmroot
  goroot=$(go env GOROOT)
  node=$(readlink -f "$(command -v node)")
  npmroot=$(npm root -g)
  log "copying Go ($goroot) and Node.js ($node, $npmroot)"
  mkdir -p "$root/usr/local" "$root/usr/lib/node_modules"
  cp -a "$goroot" "$root/usr/local/go"
  cp -a "$node" "$root/usr/bin/node"
  cp -a "$npmroot/npm" "$root/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/hosts "$root/etc/hosts"
  # The machine's own certificate authorities (a network that inspects TLS
  # has one) and the settings that point npm and Go at them.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    in_root 'update-ca-certificates >/dev/null'
  fi
  for f in /etc/npmrc /usr/etc/npmrc /root/.config/go/env; do
    if [ -f "$f" ]; then mkdir -p "$root$(dirname "$f")"; cp "$f" "$root$f"; fi
  done
}

# The committed HEAD, cloned inside the root from a bundle of it.
clone() {
  local head
  head=$(git -C "$repo" rev-parse HEAD)
  if [ -n "$(git -C "$repo" status --porcelain)" ]; then
    log "warning: $repo has uncommitted changes; only the commit $head is tested"
  fi
  git -C "$repo" bundle create "$root/lbauthz.bundle" HEAD 2>/dev/null
  in_root "git -c advice.detachedHead=false clone -q /lbauthz.bundle /root/lbauthz && cd /root/lbauthz && git checkout -q $head && git log --oneline -1"
}

# The machine's environment that a CI run keeps: where the certificates are.
machine_env=()
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR GIT_SSL_CAINFO CURL_CA_BUNDLE; do
  if [ -n "${!v:-}" ]; then machine_env+=("$v=${!v}"); fi
done

# in_root CMD: CMD in bash inside the root, as root, in a mount and PID
# namespace of its own (/proc, /sys, /dev mounted; every process started
# inside ends with it), with the environment of a CI run.
in_root() {
  unshare --mount --pid --fork --propagation private \
    bash -c 'set -e; r=$1; c=$2; shift 2
      mount -t proc proc "$r/proc"
      mount --rbind /sys "$r/sys"
      mount --rbind /dev "$r/dev"
      mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
      exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true "$@" \
        PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "$c"' in_root "$root" "$1" "${machine_env[@]}"
}

new_root() {
  mkdir -p "$dir"
  remove_root
  make_base
  add_machine
  clone
}

case $cmd in
deps)
  new_root
  log "make ${FRESH_DEPS:-deps} in the root"
  in_root "cd /root/lbauthz && make --no-print-directory ${FRESH_DEPS:-deps}"
  ;;
test)
  start=$(date +%s)
  new_root
  log "make test in the root (bash .ci/run)"
  status=0
  in_root 'cd /root/lbauthz && bash .ci/run' || status=$?
  secs=$(($(date +%s) - start))
  if [ "$status" = 0 ]; then log "PASS: make test on a fresh root in ${secs}s"; else log "FAIL (exit $status) after ${secs}s"; fi
  exit "$status"
  ;;
guard)
  [ -d "$root/root/lbauthz/node_modules" ] || die "no root with make deps done: run '$0 deps' or '$0 test' first"
  in_root 'cd /root/lbauthz && make --no-print-directory check-deps >/dev/null' || die "the guard fails before anything is removed"
  failed=0
  for pkg in $(in_root 'cd /root/lbauthz && go run ./internal/tools/depcheck -list apt'); do
    in_root "dpkg -r --force-depends $pkg >/dev/null 2>&1"
    out=$(in_root 'cd /root/lbauthz && make --no-print-directory check-deps 2>&1') && rc=0 || rc=$?
    first=$(grep -m1 '^MISSING' <<<"$out" || true)
    if [ "$rc" != 0 ] && grep -q "Debian package $pkg " <<<"$first"; then
      log "ok: without $pkg the guard fails first with: $first"
    else
      log "NOT OK: without $pkg the guard exited $rc, first line: ${first:-none}"
      failed=1
    fi
    in_root 'cd /root/lbauthz && make --no-print-directory deps-apt' >/dev/null
  done
  for tool in $(in_root 'cd /root/lbauthz && go run ./internal/tools/depcheck -list go'); do
    name=${tool%%=*}
    in_root "mv /root/go/bin/$name /root/go/bin/$name.away"
    out=$(in_root 'cd /root/lbauthz && make --no-print-directory check-deps 2>&1') && rc=0 || rc=$?
    first=$(grep -m1 '^MISSING' <<<"$out" || true)
    in_root "mv /root/go/bin/$name.away /root/go/bin/$name"
    if [ "$rc" != 0 ] && grep -q "Go program ${tool#*=} " <<<"$first"; then
      log "ok: without $name the guard fails first with: $first"
    else
      log "NOT OK: without $name the guard exited $rc, first line: ${first:-none}"
      failed=1
    fi
  done
  for pkg in $(in_root 'cd /root/lbauthz && go run ./internal/tools/depcheck -list npm'); do
    in_root "mv /root/lbauthz/node_modules/$pkg /tmp/npm-away"
    out=$(in_root 'cd /root/lbauthz && make --no-print-directory check-deps 2>&1') && rc=0 || rc=$?
    first=$(grep -m1 '^MISSING' <<<"$out" || true)
    in_root "mv /tmp/npm-away /root/lbauthz/node_modules/$pkg"
    if [ "$rc" != 0 ] && grep -q "npm package $pkg " <<<"$first"; then
      log "ok: without $pkg the guard fails first with: $first"
    else
      log "NOT OK: without node_modules/$pkg the guard exited $rc, first line: ${first:-none}"
      failed=1
    fi
  done
  in_root 'cd /root/lbauthz && make --no-print-directory check-deps' || failed=1
  [ "$failed" = 0 ] && log "PASS: each package make deps installs is named by the guard when removed" || log "FAIL"
  exit "$failed"
  ;;
shell)
  in_root 'cd /root/lbauthz 2>/dev/null; exec bash -i'
  ;;
*)
  die "usage: $0 test|deps|guard|shell"
  ;;
esac
