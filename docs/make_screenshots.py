"""Make the training page's screenshot for the docs: ``python docs/make_screenshots.py``.

Runs ``tinygrad-mlp demo --watch`` (its defaults: moons, a 2-16-16-1 MLP, 100 epochs) into a
temporary folder, opens its ``training.html`` in headless Chromium (Debian's ``chromium``
driven by playwright, as the browser tests do), moves the slider to a step in the middle of the
run and saves the whole page as ``docs/_static/watching/training_page.png``.  The PNG is
committed, so building the docs needs no browser.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "_static" / "watching" / "training_page.png"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-dev-shm-usage"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("no Chromium found: apt-get install -y chromium")


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from tinygrad_mlp.cli import main as cli

    with tempfile.TemporaryDirectory() as tmp:
        status = cli(["demo", "--out", tmp, "--watch", "--no-progress"])
        if status:
            return status
        page_path = Path(tmp) / "training.html"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860},
                                    device_scale_factor=1)
            page.goto(page_path.as_uri())
            slider = page.locator("#tg-slider")
            middle = int(int(slider.get_attribute("max")) * 0.4)
            slider.evaluate("(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }",
                            middle)
            OUT.parent.mkdir(parents=True, exist_ok=True)
            # the whole page: the graph, fitted to the window, beside all three panels
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
