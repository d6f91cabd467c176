"""nnci learn in a real headless Chromium: open each page, move a control with the keyboard (or choose an
option), and check that what the page shows equals what nnci computes for that value, here in the test.

Needs Chromium (Debian's package: /usr/bin/chromium, or NNCI_CHROMIUM=path) and Playwright; without them the
tests skip with the reason, unless NNCI_REQUIRE_BROWSER=1 (as .ci/run sets), where a missing browser fails.
"""
import os
import re
import shutil

import numpy as np
import pytest

import nnci
import nnci.nn.functional as F
from nnci.learn.pages import layers

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium():
    path = os.environ.get("NNCI_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    missing = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is None and not path:
        missing = "no Chromium found (apt-get install chromium, or set NNCI_CHROMIUM)"
    if missing:
        if os.environ.get("NNCI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"NNCI_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    return path


@pytest.fixture(scope="module")
def browser():
    path = _chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class Learner:
    """One tab on nnci learn, with waits for the page's answer after each action."""

    def __init__(self, browser, url):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.url = url
        self.errors = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, path):
        self.page.goto(self.url + path)
        self.page.wait_for_function("document.getElementById('main').dataset.state === 'ready'", timeout=60_000)
        return self

    def version(self):
        return int(self.page.get_attribute("#main", "data-version"))

    def after(self, action, state="ready"):
        """Do `action`, then wait until the page has drawn the answer to it."""
        before = self.version()
        action()
        if state == "error":
            self.page.wait_for_function("document.getElementById('main').dataset.state === 'error'", timeout=60_000)
        else:
            self.page.wait_for_function(
                f"(m => m.dataset.state === 'ready' && Number(m.dataset.version) > {before})"
                "(document.getElementById('main'))", timeout=60_000)

    def keys(self, control, *keys):
        """Focus a control and press keys, as a keyboard user does."""
        def press():
            self.page.focus(f"#c-{control}")
            for key in keys:
                self.page.keyboard.press(key)
        self.after(press)

    def choose(self, control, value):
        self.after(lambda: self.page.select_option(f"#c-{control}", value))

    def readout(self, name):
        """The number the page prints, and the full-precision value it carries."""
        node = self.page.locator(f"#r-{name}")
        return float(node.inner_text().split()[0]), float(node.get_attribute("data-value"))

    def cells(self, grid):
        rows = self.page.eval_on_selector(f"#grid-{grid}", "t => [...t.rows].map(r => [...r.cells].map(c => c.textContent))")
        return [[float(text) if text else None for text in row] for row in rows]

    def window(self, grid):
        return self.page.eval_on_selector_all(f"#grid-{grid} td.window",
                                              "cells => cells.map(c => [c.parentNode.rowIndex, c.cellIndex])")

    def series(self, plot, name):
        group = self.page.locator(f"#plot-{plot} g.series[data-name='{name}']")
        return np.array(eval_json(group.get_attribute("data-x")), float), np.array(eval_json(group.get_attribute("data-y")), float)


def eval_json(text):
    import json
    return [np.nan if v is None else v for v in json.loads(text)]


@pytest.fixture
def learner(browser, learn_url):
    tab = Learner(browser, learn_url)
    yield tab
    assert not tab.errors, tab.errors  # no script error on any page
    tab.page.close()


def shown_equals(learner, name, expected, rel=1e-5, abs_=1e-6):
    text, value = learner.readout(name)
    assert value == pytest.approx(expected, rel=rel, abs=abs_), name
    assert text == pytest.approx(expected, rel=1e-5, abs=abs_), name  # printed to 6 significant digits


def sigmoid(values):
    return nnci.tensor(np.asarray(values, np.float32)).sigmoid().numpy()


# ----- neurons ---------------------------------------------------------------------------------------
def test_neuron_state_in_the_url_and_keyboard_slider(learner):
    learner.open("/neuron?w=50&b=-20")
    assert learner.page.input_value("#c-w") == "50" and learner.page.input_value("#n-b") == "-20"
    shown_equals(learner, "y0", sigmoid([-20.0])[0])
    learner.keys("w", "ArrowRight", "ArrowRight", "ArrowRight")
    assert learner.page.input_value("#n-w") == "53" and "w=53" in learner.page.url
    shown_equals(learner, "y1", sigmoid([53.0 - 20.0])[0])
    shown_equals(learner, "step", 20 / 53)
    link = learner.page.url
    learner.open(link.replace(learner.url, ""))  # the link reproduces the view
    shown_equals(learner, "step", 20 / 53)


def test_steps_curve_is_the_two_neuron_sum(learner):
    learner.open("/steps")
    learner.keys("s1", "ArrowRight")
    s1 = float(learner.page.input_value("#n-s1"))
    assert s1 == pytest.approx(0.41)
    x, y = learner.series("plot", "y")
    expected = 0.8 * sigmoid(1000 * (x - s1)) - 0.8 * sigmoid(1000 * (x - 0.6))
    np.testing.assert_allclose(y, expected, atol=2e-5)


def test_rects_heights_follow_their_sliders(learner):
    learner.open("/rects")
    learner.keys("h1", "ArrowLeft", "ArrowLeft")
    shown_equals(learner, "rect1", 0.5, abs_=1e-5)
    shown_equals(learner, "rect2", -0.4, abs_=1e-5)


def test_approximation_typed_function_and_a_parse_error_on_the_page(learner):
    from nnci.tasks import approximate
    learner.open("/approximation?epochs=200")
    learner.choose("target", "custom")
    learner.after(lambda: (learner.page.fill("#c-expression", "abs(x - 0.5)"), learner.page.press("#c-expression", "Enter")))
    f = approximate.target_function("abs(x - 0.5)")
    constructive = approximate.constructive_network(f, 20, 0.0, 1.0)
    shown_equals(learner, "max_error_constructive", approximate.evaluate_on_grid(constructive, f, 0.0, 1.0)[2]["max_error"])
    learner.after(lambda: (learner.page.fill("#c-expression", "abs(x - "), learner.page.press("#c-expression", "Enter")),
                  state="error")
    assert "cannot parse function" in learner.page.inner_text("#error")
    learner.after(lambda: (learner.page.fill("#c-expression", "x**2"), learner.page.press("#c-expression", "Enter")))
    assert learner.page.is_hidden("#error")  # the server kept running and answered the next value


# ----- building blocks -------------------------------------------------------------------------------
def test_activation_derivative_from_backward(learner):
    learner.open("/activations")
    learner.choose("activation", "elu")
    learner.keys("x0", "Home")  # x0 = -5
    for _ in range(3):
        learner.keys("x0", "ArrowRight")
    x0 = float(learner.page.input_value("#n-x0"))
    assert x0 == pytest.approx(-4.85)
    x = nnci.tensor([x0], requires_grad=True)
    y = F.elu(x, 0.1)
    y.sum().backward()
    shown_equals(learner, "f_x0", y.item())
    shown_equals(learner, "df_x0", x.grad.item())


def test_max_pooling_window_by_window(learner):
    learner.open("/pooling")
    learner.keys("step", "ArrowRight", "ArrowRight")  # step 3 of 4
    expected = F.max_pool2d(nnci.tensor(np.ones((1, 1, 4, 4), np.float32) + np.eye(4, dtype=np.float32)), 2, 2).numpy()[0, 0]
    shown = learner.cells("output")
    assert shown == [[expected[0, 0], expected[0, 1]], [expected[1, 0], None]]
    assert sorted(learner.window("input")) == [[2, 0], [2, 1], [3, 0], [3, 1]]
    shown_equals(learner, "value", expected[1, 0])


def test_convolution_with_reflect_padding_and_stride(learner):
    learner.open("/convolution?input=arange5&kernel=sobel&step=64")
    learner.choose("mode", "reflect")
    learner.keys("stride", "ArrowRight")  # stride 2
    image = nnci.tensor(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
    kernel = nnci.tensor(layers.KERNELS["sobel"][1]().astype(np.float32)[None, None])
    expected = F.conv2d(F.pad(image, (1, 1, 1, 1), mode="reflect"), kernel, stride=2).numpy()[0, 0]
    assert learner.cells("output") == expected.tolist()
    assert learner.page.input_value("#n-step") == str(expected.size)  # clamped to the number of windows


def test_transposed_convolution_running_output(learner):
    learner.open("/transposed?input=eye2")
    learner.keys("step", "End")  # all 4 pixels
    learner.keys("step", "ArrowLeft", "ArrowLeft")  # step 2: the first row of the input stamped
    kept = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)  # eye(2)'s first row
    kernel = nnci.tensor(np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3))
    expected = F.conv_transpose2d(nnci.tensor(kept[None, None]), kernel, stride=2).numpy()[0, 0]
    assert learner.cells("output") == expected.tolist()
    assert sorted(learner.window("output")) == [[r, c] for r in range(3) for c in range(2, 5)]


def test_bilinear_upsampling(learner):
    learner.open("/upsampling")
    learner.choose("mode", "bilinear")
    learner.keys("scale", "ArrowRight")  # 3
    expected = F.interpolate(nnci.tensor(np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)), scale_factor=3,
                             mode="bilinear", align_corners=False).numpy()[0, 0]
    np.testing.assert_allclose(np.array(learner.cells("output")), expected, atol=5e-4)  # cells print 4 digits


def test_batch_norm_running_statistics(learner):
    learner.open("/batchnorm")
    learner.keys("steps", "ArrowRight")  # 21 steps
    layer = nnci.nn.BatchNorm1d(1, momentum=0.1, affine=False)
    data = np.random.default_rng(0)
    with nnci.no_grad():
        for _ in range(21):
            layer(nnci.tensor((2 + 1.5 * data.standard_normal((8, 1))).astype(np.float32)))
        shown_equals(learner, "running_mean", layer.running_mean.item())
        shown_equals(learner, "running_var", layer.running_var.item())
        layer.eval()
        shown_equals(learner, "eval_x0", layer(nnci.tensor([[2.0]])).item())


# ----- optimisation and backprop ---------------------------------------------------------------------
def test_backprop_graph_values_and_gradients(learner):
    learner.open("/backprop")
    learner.keys("x", "ArrowRight", "ArrowRight")  # x = 2.1
    x = nnci.tensor([2.1], requires_grad=True)
    a = x.log()
    a.retain_grad()
    (a ** 2).backward()
    node = learner.page.locator("#node-a")
    assert float(node.get_attribute("data-value")) == pytest.approx(a.item(), rel=1e-6)
    assert float(node.get_attribute("data-grad")) == pytest.approx(a.grad.item(), rel=1e-6)
    shown_equals(learner, "dy_dx", x.grad.item())


def test_training_live_grows_the_loss_curve(learner):
    from nnci.learn.pages import PAGES, training
    learner.open("/training?optimizer=sgd&batch=1&epochs=2")
    lengths = set()
    before = learner.version()
    learner.page.focus("#c-epochs")
    learner.page.keyboard.press("End")  # 500 epochs of 64 steps: seconds of training
    while learner.version() == before:  # sample the curve while it trains
        group = learner.page.locator("#plot-loss g.series")
        if group.count():
            lengths.add(len(eval_json(group.get_attribute("data-y"))))
        learner.page.wait_for_timeout(100)
    assert len([n for n in lengths if 2 < n < 500]) >= 2, lengths  # seen growing, not only at the end
    values = PAGES["training"].read({"optimizer": "sgd", "epochs": "500", "batch": "1"})
    final = list(training.training_run(values))[-1]
    loss = [item for p in final["panels"] if p["kind"] == "readouts" for item in p["items"] if item["id"] == "loss"][0]
    shown_equals(learner, "loss", loss["value"], rel=1e-9, abs_=0)


# ----- applications ----------------------------------------------------------------------------------
def test_denoise_noise_slider_and_uploads(learner, tmp_path):
    from PIL import Image

    from nnci.data import load_photo
    from nnci.learn.pages.applications import centre_crop, denoiser, noisy_version
    from nnci.metrics import psnr
    from nnci.tasks import denoise
    learner.open("/denoise?size=128&photo=coins")
    learner.keys("sigma", "ArrowRight")  # 26
    clean = centre_crop(load_photo("coins"), 128)
    noisy = noisy_version(clean, 26, 0)
    shown_equals(learner, "psnr_noisy", psnr(np.clip(noisy, 0, 1), clean))
    shown_equals(learner, "psnr_denoised", psnr(np.clip(denoise.apply(denoiser(), noisy, sigma=26), 0, 1), clean))
    (tmp_path / "notes.txt").write_text("not a picture")
    learner.after(lambda: learner.page.set_input_files("#c-upload", str(tmp_path / "notes.txt")), state="error")
    assert "notes.txt: not an image nnci can read" in learner.page.inner_text("#error")
    Image.fromarray((np.random.default_rng(1).random((1300, 1100)) * 255).astype(np.uint8)).save(tmp_path / "big.png")
    learner.after(lambda: learner.page.set_input_files("#c-upload", str(tmp_path / "big.png")))
    assert "1100 x 1300 pixels, downscaled to 866 x 1024" in learner.page.inner_text("#note-upload_note")
    assert learner.page.input_value("#c-photo") == "upload" and learner.page.is_hidden("#error")


def test_anomaly_map_of_a_generated_surface(learner):
    from nnci.data import inspection_sample
    from nnci.tasks import anomaly
    learner.open("/anomaly")
    learner.choose("defect", "crack")
    learner.keys("seed", "ArrowRight")  # seed 1
    image, _ = inspection_sample("weave", 64, 1, "crack")
    result = anomaly.apply(anomaly.load(), image)
    shown_equals(learner, "score", result.score)
    shown_equals(learner, "anomalous", int(result.anomalous))
    assert learner.page.locator("#img-map").get_attribute("src").startswith("data:image/png;base64,")


# ----- every page ------------------------------------------------------------------------------------
def test_every_page_opens_labels_its_controls_and_tabs_to_them(learner):
    from nnci.learn.pages import PAGES
    learner.open("/")
    links = learner.page.eval_on_selector_all("#panels a", "links => links.map(a => a.getAttribute('href'))")
    assert links == [f"/{slug}" for slug in PAGES]
    for slug, page in PAGES.items():
        if page.stream:
            continue
        learner.open(f"/{slug}")
        unlabelled = learner.page.eval_on_selector_all(
            "#controls input, #controls select",
            "inputs => inputs.filter(i => !i.getAttribute('aria-label') && !document.querySelector(`label[for='${i.id}']`))"
            ".map(i => i.id)")
        assert unlabelled == [], slug
        assert learner.page.locator("#panels > *").count() > 0, slug
    learner.open("/neuron")
    for _ in range(40):  # keyboard only: Tab through the navigation to the first control
        learner.page.keyboard.press("Tab")
        if learner.page.evaluate("document.activeElement.id") == "c-w":
            break
    assert learner.page.evaluate("document.activeElement.id") == "c-w"
    assert re.search(r"nnci learn", learner.page.title())
