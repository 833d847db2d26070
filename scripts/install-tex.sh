#!/usr/bin/env bash
# Installs TeX Live (with the Latin Modern fonts) and poppler-utils from Debian's packages when
# any of them is missing.
set -euo pipefail
if command -v latexmk >/dev/null && command -v pdflatex >/dev/null && command -v pdftotext >/dev/null \
  && command -v pdfunite >/dev/null && kpsewhich lmodern.sty >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing TeX Live and poppler-utils from Debian's packages (a few minutes)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures \
    latexmk lmodern poppler-utils >/dev/null
else
  echo "warning: no TeX engine found and cannot install one (needs root and apt-get); use derive sheet --tex-only" >&2
fi
