#!/usr/bin/env bash
# Runs derive's test suite on a fresh machine: installs what the tests need, then pytest.
#   - the package with its test extras (pytest, hypothesis) and the CPU build of PyTorch;
#   - TeX Live and poppler-utils from Debian's packages when no TeX engine is found.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet -e '.[test,torch]'

if ! command -v latexmk >/dev/null || ! command -v pdflatex >/dev/null || ! command -v pdftotext >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing TeX Live and poppler-utils from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures \
      latexmk poppler-utils >/dev/null
  else
    echo "warning: no TeX engine and cannot install one; PDF tests will fail" >&2
  fi
fi

set +e
python3 -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
fi
exit "$status"
