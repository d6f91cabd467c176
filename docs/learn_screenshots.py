"""Screenshots of every page of `nnci learn` into docs/images/learn/ (needs the [test] extra and Chromium).

    python docs/learn_screenshots.py [--out docs/images/learn] [--chromium /usr/bin/chromium]
"""
from __future__ import annotations

import argparse
import shutil
import threading
from pathlib import Path

VIEWS = {"pooling": "?step=3", "convolution": "?step=6", "transposed": "?input=eye2&step=3",
         "upsampling": "?mode=bilinear", "activations": "?activation=elu&parameter=1"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    from playwright.sync_api import sync_playwright

    from nnci.learn.app import bind, make_server
    from nnci.learn.pages import PAGES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images" / "learn")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sock = bind(0)
    server = make_server(quiet=True)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        for slug in ["", *PAGES]:
            page.goto(f"{url}/{slug}{VIEWS.get(slug, '')}")
            page.wait_for_function("document.getElementById('main').dataset.state === 'ready'", timeout=120_000)
            target = args.out / f"{slug or 'index'}.png"
            page.screenshot(path=str(target), full_page=False)
            print(target)
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
