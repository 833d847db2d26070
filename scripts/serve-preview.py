"""Regenerates docs/serve-preview.png, README's picture of a marked sheet in ``derive serve``.

Starts the server on problems/sgd-sigmoid-hidden.yaml (loopback only), opens the sheet in
Debian's headless Chromium, fills the boxes from docs/serve-preview-answers.yaml (a student's
answers with sigma' forgotten in the output delta), checks them, reveals that delta's worked
line and photographs the page around it.

Run from anywhere:  python scripts/serve-preview.py   (needs: bash scripts/install-browser.sh)
"""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from playwright.sync_api import sync_playwright  # noqa: E402

from derive.web.local import launch_chromium, running_server  # noqa: E402

PROBLEM = REPOSITORY / "problems" / "sgd-sigmoid-hidden.yaml"
ANSWERS = REPOSITORY / "docs" / "serve-preview-answers.yaml"
PICTURE = REPOSITORY / "docs" / "serve-preview.png"


def main() -> None:
    with running_server(PROBLEM) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 820})
        page.goto(url + "/sheet/sgd-sigmoid-hidden")
        page.set_input_files("#answers-file", str(ANSWERS))
        page.wait_for_selector("text=Filled from")
        page.get_by_role("button", name="Check", exact=True).click()
        page.locator('button.reveal[value="delta2_1"]').click()
        page.wait_for_selector(".worked math")
        page.evaluate("document.getElementById('row-a2_1').scrollIntoView()")
        page.screenshot(path=PICTURE)
        browser.close()
    print(f"written: {PICTURE.relative_to(REPOSITORY)}")


if __name__ == "__main__":
    main()
