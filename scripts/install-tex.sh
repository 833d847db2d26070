#!/usr/bin/env bash
# Installs TeX Live (with the Latin Modern fonts), poppler-utils, and for sheets in other scripts
# (Cyrillic, Greek, Vietnamese, Arabic, Chinese, Japanese) XeLaTeX and the Noto fonts, from
# Debian's packages, when any of them is missing.
set -euo pipefail
families="$(fc-list : family 2>/dev/null || true)"
has_font() { grep -qx "$1" <<<"$families"; }
if command -v latexmk >/dev/null && command -v pdflatex >/dev/null && command -v pdftotext >/dev/null \
  && command -v pdfunite >/dev/null && kpsewhich lmodern.sty >/dev/null 2>&1 \
  && command -v xelatex >/dev/null && kpsewhich fontspec.sty >/dev/null 2>&1 \
  && has_font "Noto Serif" && has_font "Noto Sans" && has_font "Noto Naskh Arabic" \
  && grep -q "Noto Serif CJK SC" <<<"$families"; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing TeX Live, XeLaTeX, the Noto fonts and poppler-utils from Debian's packages (a few minutes)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures \
    texlive-xetex fonts-noto-core fonts-noto-cjk fontconfig \
    latexmk lmodern poppler-utils >/dev/null
else
  echo "warning: TeX Live, XeLaTeX or the Noto fonts are missing and cannot be installed (needs root and apt-get); use derive sheet --tex-only" >&2
fi
