#!/usr/bin/env bash
# Builds a real kube-apiserver 1.20.2 and etcd 3.4.23 from Debian bookworm's own packages, once per
# machine, into a cache; prints the directory that holds them. Nothing system-wide changes: apt
# runs with a private configuration, packages are unpacked, not installed.
#
#   scripts/kube-apiserver.sh            build if needed, print the directory
#   FLOTILLA_KUBE_DIR=/some/dir ...      build into / use that directory instead of the cache
#
# The directory holds k8s/1.20.2-linux-amd64/{kube-apiserver,etcd,kubectl} (the layout of
# io.fabric8:kube-api-test) and is what the operator's end-to-end tests start. Cold: about 5
# minutes and 2.2 GB of scratch space on 2 cores; warm: instant. See shared KUBE-APISERVER.md.
set -euo pipefail

VERSION=1.20.2
SRC_VERSION=1.20.5+really1.20.2-1.1+deb12u1
OUT="${FLOTILLA_KUBE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/kube/$VERSION}"
BIN="$OUT/k8s/$VERSION-linux-amd64"
log() { echo "[kube-apiserver] $*" >&2; }

if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ] && [ -x "$BIN/kubectl" ]; then
  echo "$OUT"
  exit 0
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-kube-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$BIN" "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/debs"

# A private apt configuration: the machine's own bookworm entries, plus their deb-src twins.
src_list="$WORK/apt/sources.list"
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
  [ -f "$f" ] || continue
  case "$f" in
    *.sources) awk 'BEGIN{RS=""; ORS="\n\n"} /Suites:.*bookworm/ {print; s=$0; sub(/Types: *deb/, "Types: deb-src", s); print s}' "$f" \
                 >>"$WORK/apt/bookworm.sources" ;;
    *) grep -E '^deb .*bookworm' "$f" | sed -e 'p' -e 's/^deb /deb-src /' >>"$src_list" || true ;;
  esac
done
[ -f "$WORK/apt/bookworm.sources" ] || touch "$WORK/apt/bookworm.sources"
touch "$src_list"
APT=(-o Dir::Etc::sourcelist="$src_list" -o Dir::Etc::sourceparts="$WORK/apt/parts"
     -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache"
     -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
mkdir -p "$WORK/apt/parts"
cp "$WORK/apt/bookworm.sources" "$WORK/apt/parts/bookworm.sources"

log "fetching package lists (private apt configuration)"
apt-get "${APT[@]}" -qq update
log "fetching the kubernetes source package $SRC_VERSION and the toolchain"
(cd "$WORK" && apt-get "${APT[@]}" -qq source --download-only "kubernetes=$SRC_VERSION")
(cd "$WORK/debs" && apt-get "${APT[@]}" -qq download golang-1.19-go golang-1.19-src etcd-server \
   golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev kubernetes-client)
for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$WORK/root"; done

log "unpacking the source"
mkdir -p "$WORK/gopath/src/k8s.io"
tar -C "$WORK" -xzf "$WORK"/kubernetes_*.orig.tar.gz
tree="$(find "$WORK" -maxdepth 1 -type d -name 'kubernetes-*' | head -1)"
ln -s "$tree" "$WORK/gopath/src/k8s.io/kubernetes"
# Go 1.19 panics with the vendored reflect2 1.0.1 / json-iterator 1.1.10 on the first CRD create;
# Debian's 1.0.2 / 1.1.12 work.
rm -rf "$tree/vendor/github.com/modern-go/reflect2" "$tree/vendor/github.com/json-iterator/go"
cp -r "$WORK/root/usr/share/gocode/src/github.com/modern-go/reflect2" "$tree/vendor/github.com/modern-go/"
cp -r "$WORK/root/usr/share/gocode/src/github.com/json-iterator/go" "$tree/vendor/github.com/json-iterator/"

export GOROOT="$WORK/root/usr/lib/go-1.19" GOPATH="$WORK/gopath" GO111MODULE=off CGO_ENABLED=0
export GOCACHE="$WORK/gocache" GOFLAGS=-mod=vendor PATH="$GOROOT/bin:$PATH"
unset GOFLAGS
cd "$WORK/gopath/src/k8s.io/kubernetes"
log "generating the OpenAPI definitions (about 25 s)"
make gen_openapi >"$WORK/gen.log" 2>&1 || { tail -20 "$WORK/gen.log" >&2; exit 1; }
log "building kube-apiserver (about 4 minutes on 2 cores)"
# The version goes into both packages that report it (`--version` reads component-base, the
# /version endpoint client-go), as Kubernetes' own hack/lib/version.sh does; Helm checks it.
ldflags="-s -w"
for v in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  ldflags+=" -X $v.gitVersion=v$VERSION -X $v.gitMajor=1 -X $v.gitMinor=20 -X $v.gitTreeState=clean"
done
go build -o "$BIN/kube-apiserver" -ldflags "$ldflags" ./cmd/kube-apiserver
cp "$WORK/root/usr/bin/etcd" "$BIN/etcd"
cp "$WORK/root/usr/bin/kubectl" "$BIN/kubectl"
chmod +x "$BIN"/*
log "built: $("$BIN/kube-apiserver" --version), $("$BIN/etcd" --version | head -1), kubectl $("$BIN/kubectl" version --client --short 2>/dev/null || true)"
echo "$OUT"
