#!/usr/bin/env bash
# Runs derive's test suite on a fresh machine: installs what the tests need, then pytest.
#   - the package with its test extras (pytest, hypothesis, httpx2, playwright, keras), the CPU
#     build of PyTorch and the lab extras (scikit-learn, matplotlib);
#   - TeX Live and poppler-utils from Debian's packages when no TeX engine is found;
#   - Chromium from Debian's packages when missing (the browser test drives it with Playwright).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet -e '.[test,torch,lab]'

bash scripts/install-tex.sh
bash scripts/install-browser.sh

set +e
python3 -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
fi
exit "$status"
