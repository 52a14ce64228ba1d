#!/usr/bin/env bash
# Does the suite pass with the newest releases pyproject.toml allows?  (Not run by CI.)
# Installs them into a throw-away virtualenv (never the one you work in), lists what is
# newer than constraints.txt, runs the suite there and reports the failing tests.
#   bash scripts/check-latest.sh                 whole suite
#   bash scripts/check-latest.sh tests/api       only some tests (pytest arguments)
#   bash scripts/check-latest.sh --write [...]   and, if everything passes, rewrite
#                                                constraints.txt from that virtualenv
# Exit 0 when the suite passes with the newest versions, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
if [ "${1:-}" = "--write" ]; then write=1; shift; fi

tmp=$(mktemp -d /tmp/loom-latest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
py="$tmp/venv/bin/python"
echo "+ installing the newest allowed versions into $tmp/venv"
"$py" -m pip install -q --upgrade pip >/dev/null
"$py" -m pip install -q --upgrade --upgrade-strategy eager -e '.[test]'
"$py" -m pip freeze --exclude-editable | grep -v '^-e ' | sort -f > "$tmp/latest.txt"

echo "== versions that differ from constraints.txt (locked -> newest)"
"$py" - "$tmp/latest.txt" <<'PY'
import re, sys
def read(path):
    out = {}
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out
locked, latest = read("constraints.txt"), read(sys.argv[1])
changed = False
for name in sorted(set(locked) | set(latest)):
    old, new = locked.get(name, "-"), latest.get(name, "-")
    if old != new:
        changed = True
        print(f"  {name}: {old} -> {new}")
if not changed:
    print("  none: constraints.txt is up to date")
PY

echo "== the suite with the newest versions"
status=0
PATH="$tmp/venv/bin:$PATH" "$py" -m pytest -q -p no:cacheprovider -rfE --tb=line "$@" \
  | tee "$tmp/pytest.log" || status=$?
if [ "$status" -ne 0 ]; then
  echo "== broken with the newest versions (see the failures above):"
  grep -E '^(FAILED|ERROR) ' "$tmp/pytest.log" || true
  exit 1
fi
echo "== the suite passes with the newest versions"
if [ "$write" = 1 ]; then
  { sed -n '/^#/p' constraints.txt; cat "$tmp/latest.txt"; } > constraints.txt.new
  mv constraints.txt.new constraints.txt
  echo "constraints.txt rewritten; commit it"
fi
