#!/usr/bin/env bash
# CI: the oldest versions pyproject.toml allows. Pins every dependency at its lower bound
# ("numpy>=1.26" → "numpy==1.26", so a bound raised in pyproject.toml is followed here), installs
# them with the test extras into a venv of their own, and runs the tests that exercise those
# libraries: textual (console flows; the SVG snapshots are left out, they pin the newest
# rendering), bleak (against bumble), numpy/scipy (pipeline, files, statistics), tinydb, edfio,
# plotext, platformdirs.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python - > "$work/oldest.txt" <<'PY'
import re, tomllib
for requirement in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    name, lowest = re.match(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*>=\s*([0-9][^,;\s]*)", requirement).groups()
    print(f"{name}=={lowest}")
PY
echo "oldest versions: $(tr '\n' ' ' < "$work/oldest.txt")"
python -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q -c "$work/oldest.txt" -e ".[test]"
"$work/venv/bin/python" -m pip list 2>/dev/null | grep -iE "^(numpy|scipy|textual|bleak|tinydb|plotext|edfio|platformdirs) "
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider -k "not snapshot" \
    tests/test_config.py tests/test_database.py tests/test_pipeline.py tests/test_signal_files.py \
    tests/test_ble_source.py tests/test_scan.py tests/test_console_bluetooth.py \
    tests/test_ui.py tests/test_history_screen.py tests/test_field_faults.py tests/test_log_file.py
