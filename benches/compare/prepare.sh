#!/usr/bin/env bash
# Prepares the comparison crate's one dependency patch, then (with arguments)
# runs cargo on it:
#
#   benches/compare/prepare.sh                      # only write the patch
#   benches/compare/prepare.sh bench                # patch + cargo bench
#   benches/compare/prepare.sh bench --no-run       # patch + build only
#
# Why: zen-engine 2.1.6 has no cargo features to turn off, and it depends on
# `jsonschema` with jsonschema's default features, whose `tls-aws-lc-rs`
# builds aws-lc-sys (a C crypto library: most of a cold build on a 2-core
# machine) and whose `resolve-http` fetches remote schemas over HTTPS. The
# comparison evaluates decision tables only; it never validates a schema,
# let alone a remote one. Cargo cannot remove a feature another crate turns
# on, so `Cargo.toml` patches `jsonschema` with `patched/jsonschema`: the
# crate exactly as published on crates.io (same version as `Cargo.lock`),
# with only its `default` feature list changed to `["resolve-file"]`.
#
# Source: the crates.io package `jsonschema` (https://crates.io/crates/jsonschema),
# fetched by cargo into its registry cache. Licence: MIT (the package's own
# LICENSE file is kept in the copy). `patched/` is generated, never committed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(awk '/^name = "jsonschema"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$here/Cargo.lock")"
[ -n "$version" ] || { echo "prepare.sh: no jsonschema in $here/Cargo.lock" >&2; exit 1; }
dest="$here/patched/jsonschema"

if ! grep -qs "^version = \"$version\"$" "$dest/Cargo.toml"; then
    # A throw-away manifest that depends on the locked version, so that cargo
    # downloads it (checksum-verified) and says where it unpacked it.
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    mkdir "$tmp/src"
    : >"$tmp/src/lib.rs"
    cat >"$tmp/Cargo.toml" <<EOF
[package]
name = "fetch-jsonschema"
version = "0.0.0"
edition = "2021"
[dependencies]
jsonschema = { version = "=$version", default-features = false }
[workspace]
EOF
    manifest="$(cargo metadata --quiet --format-version 1 --manifest-path "$tmp/Cargo.toml" |
        python3 -c 'import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "jsonschema":
        print(p["manifest_path"])')"
    [ -f "$manifest" ] || { echo "prepare.sh: cargo did not unpack jsonschema $version" >&2; exit 1; }
    rm -rf "$dest"
    mkdir -p "$(dirname "$dest")"
    cp -R "$(dirname "$manifest")" "$dest"
    # Rewrite the one `default = [ ... ]` list (it may span several lines).
    python3 - "$dest/Cargo.toml" <<'EOF'
import re, sys
path = sys.argv[1]
text = open(path).read()
new, n = re.subn(r'(?ms)^default = \[.*?\]', 'default = ["resolve-file"]', text, count=1)
if n != 1:
    sys.exit("prepare.sh: no default feature list in " + path)
open(path, "w").write(new)
EOF
    echo "prepare.sh: wrote $dest (jsonschema $version, default features: resolve-file)"
fi

if [ $# -gt 0 ]; then
    # The manifest right after the subcommand: appended at the end, it went
    # after a `--` to the benchmark harness, which rejected it.
    sub="$1"
    shift
    exec cargo "$sub" --manifest-path "$here/Cargo.toml" "$@"
fi
