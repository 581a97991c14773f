"""End-to-end check in a real browser: JupyterLab shows the widgets, the web app answers a
digit drawn with the mouse, and the report opens.

Starts JupyterLab headless on a free localhost port, opens quick-profile copies
of 02_train and 04_infer in Debian's Chromium (driven by Playwright, pointed at
/usr/bin/chromium since Playwright's own browser download needs the internet),
runs every cell, and checks that the sliders, the Train button and the drawing
canvas rendered. In 02 it presses Train and waits for the run table; in 04 it
draws a stroke on the canvas and waits for an answer. Then it starts the web app
with `make app` (Voilà), checks that it listens on localhost only, times how soon
it is ready to draw, draws a 1 with the mouse and asserts the answer, then a
click, a dash and a stroke released outside the pad, and opens the training tab.
In the "Teach it" tab it draws and keeps every digit it is asked for (3 of each),
presses Teach, waits for the before and after, and draws a 7 on the "try it" pad,
which must answer with the taught model and the original. Last it opens
outputs/report.html. Every page may ask this machine only: a request to any
other fails the check. Screenshots go to outputs/browser/.

Run with `make e2e`; exits 1 with a one-line reason if any check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import papermill as pm

PROJECT = Path(__file__).resolve().parent.parent
WORK = PROJECT / "build" / "e2e"
SHOTS = PROJECT / "outputs" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
QUICK = {"EPOCHS": 1, "TRAIN_SUBSET": 20000, "BATCH_SIZE": 32, "MIN_ACCURACY": 0.85, "PER_KIND": 3}
"""The quick profile's training (about 10 s), and a few photo-like images per kind."""


class CheckFailedError(RuntimeError):
    """One end-to-end check did not hold."""


def prepare(name: str) -> Path:
    """A copy of notebooks/NAME.ipynb with the quick parameters injected, under build/e2e/."""
    target = WORK / "notebooks" / f"{name}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = pm.inspect_notebook(PROJECT / "notebooks" / f"{name}.ipynb")
    params = {k: v for k, v in QUICK.items() if k in notebook} | {"RUN_DIR": str(WORK)}
    if "SAMPLES_DIR" in notebook:
        params["SAMPLES_DIR"] = str(PROJECT / "data" / "samples")
    pm.execute_notebook(
        PROJECT / "notebooks" / f"{name}.ipynb",
        target,
        parameters=params,
        prepare_only=True,
        log_output=False,
    )
    return target


def free_port() -> int:
    """A localhost port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SETTINGS = {
    # Render every cell, not only the visible ones, so outputs can be found.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": '{"fetchNews": "false"}',
}


def start_lab(port: int, token: str) -> subprocess.Popen:
    """JupyterLab, headless, serving the project folder; waits until it answers."""
    settings = WORK / "lab-settings"
    for name, text in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(text)
    log = (WORK / "jupyterlab.log").open("w")
    lab = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={PROJECT}",
            "--ServerApp.disable_check_xsrf=True", f"--LabApp.user_settings_dir={settings}", "--allow-root",
        ],
        stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT, start_new_session=True,
    )  # fmt: skip
    wait_until_answering(f"http://127.0.0.1:{port}/api/status?token={token}", lab, WORK / "jupyterlab.log")
    return lab


def stop(server: subprocess.Popen | None) -> None:
    """End a server started in its own session, and everything it started."""
    if server is not None and server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def wait_until_answering(url: str, server: subprocess.Popen, log: Path, limit_s: float = 120) -> None:
    """Return once `url` answers; fail if the server exits or does not answer within `limit_s`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.5)
    stop(server)
    raise CheckFailedError(f"{url.split('?')[0]} did not answer; see {log}")


def run_all_cells(page, url: str, timeout_s: float) -> None:
    """Open a notebook alone in a fresh workspace, run every cell (Shift+Enter through them),
    and wait until all have run or one failed."""
    page.goto(url)
    panel = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    visible = f"{panel} .jp-Notebook"
    page.wait_for_selector(f"{visible} .jp-Cell", timeout=60_000)
    page.wait_for_timeout(2000)  # let this notebook's own kernel appear in its toolbar
    page.wait_for_selector(f"{panel} .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    cells = page.locator(f"{visible} .jp-Cell")
    count = cells.count()
    cells.first.click()
    page.keyboard.press("Escape")  # command mode
    for _ in range(count):
        page.keyboard.press("Shift+Enter")
    # Queued cells show [*]; when one fails, JupyterLab cancels the rest and they go back to [ ].
    # So the run is over when no prompt shows a star, and it failed if a cell was left unrun.
    prompts_js = """() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell .jp-InputPrompt')]
        .map(p => p.textContent.trim())"""
    page.wait_for_function(
        f"() => {{ const p = ({prompts_js})();"
        " return p.some(t => /\\d/.test(t)) && !p.some(t => t.includes('*')); }",
        timeout=int(timeout_s * 1000),
    )
    prompts = page.evaluate(prompts_js)
    unrun = [i for i, prompt in enumerate(prompts[:-1]) if not any(ch.isdigit() for ch in prompt)]
    if unrun:
        failed = page.locator(f"{visible} .jp-CodeCell").nth(max(unrun[0] - 1, 0))
        output = failed.locator(".jp-OutputArea").inner_text()[-400:]
        raise CheckFailedError(f"{url.split('?')[0]}: code cell {unrun[0]} did not run after: {output}")


def check_train_panel(page, base: str) -> None:
    """02_train: the panel's sliders and buttons render; Train draws the chart and adds a run to the table."""
    run_all_cells(page, f"{base}/lab/workspaces/e2e-02/tree/build/e2e/notebooks/02_train.ipynb?reset", 600)
    sliders = page.locator(".widget-slider, .jupyter-widget-slider, .widget-hslider")
    if sliders.count() < 4:
        page.screenshot(path=str(SHOTS / "02_train_failed.png"), full_page=True)
        raise CheckFailedError(f"02_train: expected the panel's sliders, found {sliders.count()}")
    train = page.get_by_role("button", name="Train")
    if not train.count():
        raise CheckFailedError("02_train: no Train button rendered")
    train.last.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "02_train_panel.png"), full_page=False)
    panel_images = "document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) img').length"
    before = page.evaluate(panel_images)
    train.last.click()
    page.get_by_text("val accuracy").first.wait_for(timeout=300_000)
    page.wait_for_function(f"() => {panel_images} > {before}", timeout=300_000)  # the live chart
    done = page.get_by_text("Done: validation accuracy").first
    done.wait_for(timeout=300_000)  # the last epoch: as long as training takes, like the first
    done.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "02_train_panel_after_training.png"), full_page=False)


def check_drawing_pad(page, base: str) -> None:
    """04_infer: the drawing canvas renders, and a stroke drawn on it gets an answer."""
    run_all_cells(page, f"{base}/lab/workspaces/e2e-04/tree/build/e2e/notebooks/04_infer.ipynb?reset", 600)
    canvas = page.locator(".jp-OutputArea-output canvas")
    if not canvas.count():
        raise CheckFailedError("04_infer: the drawing pad's canvas did not render")
    answer = draw_a_one(page, canvas.first)  # the pad's; the Teach it panel's comes after it
    print(f"browser check: the stroke drawn on the canvas was read as {answer}")
    page.screenshot(path=str(SHOTS / "04_infer_drawing_pad.png"), full_page=False)


def draw_a_one(page, canvas) -> str:
    """Clear the pad, draw a slanted downstroke with the mouse, and return the answer it shows."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    if not box or box["width"] < 100:
        raise CheckFailedError(f"the canvas is missing or tiny ({box})")
    pad = canvas.locator("xpath=ancestor::div[contains(@class, 'hbox')][1]")  # the canvas and its buttons
    pad.get_by_role("button", name="Clear").click(timeout=10_000)
    pad.locator(".widget-html-content", has_text="Draw a digit in the box, or upload").wait_for()
    draw_with_mouse(page, canvas, [[(0.5 - 0.01 * step, 0.15 + 0.07 * step) for step in range(11)]])
    answer = pad.locator(".widget-html-content b[style*='font-size']").last
    answer.wait_for(timeout=30_000)
    ink = ink_on(canvas)
    if ink < 500:  # the pen is 18 px wide: a stroke down the pad darkens thousands of pixels
        raise CheckFailedError(f"the pad was read, but the canvas shows no stroke ({ink} dark pixels)")
    return answer.inner_text()


def draw_with_mouse(page, canvas, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw `strokes` on the canvas with the mouse: each point a share (0-1) of its side."""
    box = canvas.bounding_box()
    for stroke in strokes:
        page.mouse.move(box["x"] + box["width"] * stroke[0][0], box["y"] + box["height"] * stroke[0][1])
        page.mouse.down()
        for px, py in stroke[1:]:
            page.mouse.move(box["x"] + box["width"] * px, box["y"] + box["height"] * py)
        page.mouse.up()


def start_app(port: int) -> subprocess.Popen:
    """`make app` on `port`, as a user starts it; waits until Voilà answers."""
    log = (WORK / "voila.log").open("w")
    app = subprocess.Popen(
        ["make", "--no-print-directory", "app", f"APP_PORT={port}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT, start_new_session=True,
    )  # fmt: skip
    wait_until_answering(f"http://127.0.0.1:{port}/", app, WORK / "voila.log")
    return app


def listening_addresses(process: subprocess.Popen) -> set[str]:
    """The addresses the process (or any under it) listens on."""
    import psutil

    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    return {
        c.laddr.ip for p in tree for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    }


def ink_on(canvas) -> int:
    """Dark pixels on the canvas, as the browser draws it."""
    return canvas.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  let dark = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128 && d[i + 3] > 0) dark++;
                  return dark; }"""
    )


def check_pad_with_the_mouse(page, canvas) -> dict[str, float]:
    """A click and a dash are asked for a digit; a stroke released outside the pad is read and
    ends there; Clear clears the figure; "Where it looked" answers. Returns its seconds."""
    box = canvas.bounding_box()
    x, y, side = box["x"], box["y"], box["width"]
    figures = page.locator(".widget-output img")
    for name, points in (("a click", [(0.5, 0.5)]), ("a short dash", [(0.45, 0.5), (0.52, 0.5)])):
        page.get_by_role("button", name="Clear").first.click()
        page.mouse.move(x + side * points[0][0], y + side * points[0][1])
        page.mouse.down()
        for px, py in points[1:]:
            page.mouse.move(x + side * px, y + side * py, steps=3)
        page.mouse.up()
        page.get_by_text("Too small to read").first.wait_for(timeout=30_000)
        if figures.count():
            raise CheckFailedError(f"the app answered {name} on the pad with a figure")
    page.get_by_role("button", name="Clear").first.click()
    page.mouse.move(x + side * 0.5, y + side * 0.2)
    page.mouse.down()
    for step in range(1, 13):  # down the pad and out of its bottom edge, the button still held
        page.mouse.move(x + side * 0.5, y + side * (0.2 + 0.08 * step))
    page.mouse.up()  # released outside the canvas
    page.locator(".widget-html-content b[style*='font-size']").first.wait_for(timeout=30_000)
    drawn = ink_on(canvas)
    page.mouse.move(x + side * 0.2, y + side * 0.3)  # back over the pad, the button up
    page.mouse.move(x + side * 0.3, y + side * 0.4, steps=5)
    if ink_on(canvas) != drawn:
        raise CheckFailedError("moving over the pad after a release outside it kept drawing")
    shown = "() => [...document.querySelectorAll('.widget-output img')].map(i => i.src).join()"
    before = page.evaluate(shown)
    began = time.monotonic()
    page.get_by_role("button", name="Where it looked").first.click()
    changed = f"before => ({shown})() !== before && ({shown})() !== ''"
    page.wait_for_function(changed, arg=before, timeout=30_000)
    looked = time.monotonic() - began
    page.get_by_role("button", name="Clear").first.click()
    page.wait_for_function(f"() => ({shown})() === ''", timeout=10_000)
    print(f"browser check: the app refused a click and a dash, read a stroke released outside the pad, "
          f"drew where it looked in {looked:.1f} s, and Clear cleared its figure")  # fmt: skip
    return {"where_it_looked_s": round(looked, 2)}


def check_app(page, base: str, app: subprocess.Popen) -> None:
    """The web app: localhost only; ready to draw soon; a 1 drawn with the mouse is read as 1; dots,
    dashes and strokes that leave the pad; the training tab renders when opened."""
    addresses = listening_addresses(app)
    if not addresses or not addresses <= {"127.0.0.1", "::1"}:
        raise CheckFailedError(f"the app listens on {sorted(addresses)}, not on localhost only")
    began = time.monotonic()
    page.goto(base)
    canvas = page.locator("canvas")
    canvas.first.wait_for(timeout=180_000)
    page.get_by_text("Draw a digit in the box, or upload").first.wait_for(timeout=60_000)
    ready = time.monotonic() - began
    print(f"browser check: the app was ready to draw {ready:.1f} s after the page opened (goal: 5 s)")
    answer = draw_a_one(page, canvas.first)
    page.screenshot(path=str(SHOTS / "app_drawing_pad.png"), full_page=True)
    if not answer.strip().startswith("1"):
        raise CheckFailedError(f"the app read a 1 drawn with the mouse as {answer!r}")
    print(f"browser check: the app read the 1 drawn with the mouse as {answer}")
    timings = {"ready_to_draw_s": round(ready, 2), **check_pad_with_the_mouse(page, canvas.first)}
    page.locator(".lm-TabBar-tab", has_text="Train").first.click()
    page.get_by_role("button", name="Train").first.wait_for(timeout=120_000)  # TensorFlow loads now
    sliders = page.locator(".widget-slider, .jupyter-widget-slider, .widget-hslider")
    if sliders.count() < 4:
        raise CheckFailedError(f"the app's training tab shows {sliders.count()} sliders, not the panel")
    page.screenshot(path=str(SHOTS / "app_training_panel.png"), full_page=True)
    timings |= check_teach_tab(page)
    (SHOTS / "app_timings.json").write_text(json.dumps(timings, indent=2) + "\n")


def check_teach_tab(page, per_digit: int = 3) -> dict[str, float]:
    """The app's Teach it tab: every digit it asks for is drawn with the mouse and kept, Teach shows
    how the drawings set aside are read before and after, and the "try it" pad then answers a 7 with
    the taught model and the original. Returns Teach's seconds."""
    from helpers.samples import digit_strokes

    page.locator(".lm-TabBar-tab", has_text="Teach it").first.click()
    page.get_by_text(f"Draw a 0 (1 of {per_digit})").first.wait_for(timeout=60_000)
    canvas = page.locator("canvas:visible").first  # the other tabs' canvases are hidden
    for i in range(10 * per_digit):
        draw_with_mouse(page, canvas, digit_strokes(i % 10, variant=i // 10, size=1))
        if i == 0 and ink_on(canvas) < 500:
            raise CheckFailedError("the Teach it canvas shows no stroke after drawing a 0 on it")
        page.get_by_role("button", name="Keep").click()  # (its icon is part of its name)
        n = i + 1
        asked = f"Draw a {n % 10} ({n // 10 + 1} of {per_digit})" if n < 10 * per_digit else "Every digit is"
        page.get_by_text(asked).first.wait_for(timeout=30_000)
    if ink_on(canvas):
        raise CheckFailedError("Keep left the last drawing on the Teach it canvas")
    page.screenshot(path=str(SHOTS / "app_teach_drawn.png"), full_page=True)
    began = time.monotonic()
    page.get_by_role("button", name="Teach").click()
    done = page.get_by_text(re.compile("set-aside digits: |Not taught: ")).first
    done.wait_for(timeout=600_000)
    taught = time.monotonic() - began
    if "Not taught" in done.inner_text():
        raise CheckFailedError(f"Teach failed in the app: {done.inner_text()}")
    print(f"browser check: Teach took {taught:.0f} s: {done.inner_text()}")
    trial = page.locator("canvas:visible").first  # the "try it" pad; the drawing canvas is hidden now
    draw_with_mouse(page, trial, digit_strokes(7, size=1))
    answers = page.locator(".widget-html-content td b[style*='font-size']:visible")
    answers.nth(1).wait_for(timeout=60_000)
    read = answers.all_inner_texts()
    heads = page.locator(".widget-html-content th:visible").all_inner_texts()
    if len(read) != 2 or heads != ["taught", "before teaching"]:
        raise CheckFailedError(f"the try-it pad shows {heads} {read}, not two answers side by side")
    page.screenshot(path=str(SHOTS / "app_teach_try_it.png"), full_page=True)
    print(f"browser check: on the try-it pad a 7 drawn with the mouse was read as {read[0]} (taught) "
          f"and {read[1]} (before teaching)")  # fmt: skip
    return {"teach_s": round(taught, 1)}


LOCAL = ("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "ws://localhost", "file:", "data:")
"""What a page may ask for: this machine, and what the page holds itself (blob: URLs too)."""


def refuse_other_machines(page, seen: list[str]) -> None:
    """Note every request the page makes to anything but this machine (fails the check at the end)."""
    page.on(
        "request",
        lambda request: None if request.url.startswith((*LOCAL, "blob:")) else seen.append(request.url),
    )


TAUGHT_IN_02 = ("layers.Conv2D(", "model.compile(", "model.fit(", "build_compact_cnn", "make_augmenter")
"""What 02_train's part of the report must show without a click: the network, compile, fit."""


def check_report(page, report: Path) -> None:
    """The report opens from disk, offline, with its headline table and figures; 02's Keras code
    (the network, `compile(`, `fit(`) is on the page as it opens, with nothing unfolded."""
    page.goto(report.as_uri())
    page.wait_for_selector("table", timeout=30_000)
    images = page.locator("img").count()
    if images < 8:
        raise CheckFailedError(f"report.html shows only {images} images")
    # The text a reader sees in 02's part: from its title to 03's, visible elements only.
    seen = page.evaluate(
        """() => {
            const titles = [...document.querySelectorAll('h1')];
            const start = titles.find(h => h.textContent.startsWith('02 '));
            const end = titles.find(h => h.textContent.startsWith('03 '));
            if (!start || !end) return null;
            const range = document.createRange();
            range.setStartBefore(start); range.setEndBefore(end);
            return [...document.querySelectorAll('div.listing')]
                .filter(el => range.intersectsNode(el) && el.checkVisibility() && !el.closest('details'))
                .map(el => el.innerText).join('\\n');
        }"""
    )
    if seen is None:
        raise CheckFailedError("report.html: no '02 ·' and '03 ·' chapter titles")
    missing = [text for text in TAUGHT_IN_02 if text not in seen]
    if missing:
        raise CheckFailedError(f"report.html: 02_train's code is not on the page as it opens: {missing}")
    name = (
        "report" if report == PROJECT / "outputs" / "report.html" else f"report_{report.parent.parent.name}"
    )
    page.locator("div.listing").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{name}_listing.png"), full_page=False)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def reports_to_check() -> list[Path]:
    """The project's report, and the quick run's where there is one (CI makes it just before)."""
    quick = PROJECT / "build" / "quick" / "outputs" / "report.html"
    return [PROJECT / "outputs" / "report.html", *([quick] if quick.is_file() else [])]


def main(argv: list[str] | None = None) -> int:
    """Run every browser check; print one line per check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, action="append", help="a report to check (default: all made)")
    parser.add_argument("--only-report", action="store_true", help="check the report(s) alone")
    args = parser.parse_args(argv)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(
            f"browser check: no Chromium at {CHROMIUM}; install Debian's `chromium` package", file=sys.stderr
        )
        return 1
    shutil.rmtree(WORK, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in [] if args.only_report else SHOTS.glob("*.png"):  # a screenshot on disk comes from this run
        old.unlink()
    lab = app = None
    elsewhere: list[str] = []
    try:
        checks = []
        if not args.only_report:
            for name in ("02_train", "04_infer"):
                prepare(name)
            port, token = free_port(), secrets.token_hex(16)
            lab = start_lab(port, token)
            base = f"http://127.0.0.1:{port}"
            app_port = free_port()
            app = start_app(app_port)
            checks += [
                ("02_train panel", lambda: check_train_panel(page, base)),
                ("04_infer drawing pad", lambda: check_drawing_pad(page, base)),
                ("web app (make app)", lambda: check_app(page, f"http://127.0.0.1:{app_port}/", app)),
            ]
        for report in [path.resolve() for path in args.report or reports_to_check()]:
            checks.append((relative(report), lambda report=report: check_report(page, report)))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            refuse_other_machines(page, elsewhere)
            if lab is not None:
                page.goto(f"{base}/lab?token={token}")
            for name, check in checks:
                began = time.monotonic()
                check()
                if elsewhere:
                    raise CheckFailedError(f"{name}: the page asked another machine for {elsewhere[0]}")
                print(f"browser check: {name}: ok ({time.monotonic() - began:.0f} s)", flush=True)
            browser.close()
    except (CheckFailedError, PlaywrightError) as exc:
        with contextlib.suppress(PlaywrightError, NameError):
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=False)
        print(
            f"browser check failed: {str(exc).splitlines()[0]} (see {SHOTS / 'failure.png'})", file=sys.stderr
        )
        return 1
    finally:
        for server in (lab, app):
            stop(server)
    print(f"browser check: screenshots in {SHOTS.relative_to(PROJECT)}/")
    return 0


def relative(path: Path) -> str:
    """A path from the project root, where it is under it."""
    path = path.resolve()
    return path.relative_to(PROJECT).as_posix() if path.is_relative_to(PROJECT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
