"""nnci learn without a browser: each page's numbers against torch or the formula they show, the checks of every
control, and the HTTP contract (JSON errors, uploads, the stream, loopback only)."""
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from nnci.learn.controls import Choice, Slider
from nnci.learn.pages import PAGES, layers, training
from nnci.tasks.options import UserError


def compute(slug, **values):
    page = PAGES[slug]
    return page.compute(page.read({name: str(value) for name, value in values.items()}))


def panel(result, kind, index=0):
    return [p for p in result["panels"] if p["kind"] == kind][index]


def read(result):
    return {item["id"]: item["value"] for p in result["panels"] if p["kind"] == "readouts" for item in p["items"]}


def cells(result, grid_id):
    for p in result["panels"]:
        for item in p.get("items", []):
            if item.get("id") == grid_id and "values" in item:
                return item["values"]
    raise KeyError(grid_id)


def get(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize("slug", [slug for slug, page in PAGES.items() if not page.stream])
def test_every_page_answers_its_defaults_with_finite_json(slug):
    result = compute(slug)
    json.dumps(result, allow_nan=False)  # nan/inf would be invalid JSON for the browser
    assert result["panels"], slug


def test_every_control_refuses_out_of_range_values_naming_itself():
    for page in PAGES.values():
        for control in page.controls:
            if isinstance(control, Slider):
                for bad in (control.high + control.step * 7, control.low - 1, "nan", "ten"):
                    with pytest.raises(UserError, match=f"^{control.name}: expected .*\\[{control.low:g}, {control.high:g}\\]"):
                        page.read({control.name: str(bad)})
            elif isinstance(control, Choice):
                with pytest.raises(UserError, match=f"^{control.name}: expected one of"):
                    page.read({control.name: "no such option"})
    with pytest.raises(UserError, match="unknown control 'q'; this page has w, b"):
        PAGES["neuron"].read({"q": "1"})


def test_neuron_steps_and_rects_are_the_sigmoid_networks_they_describe(rng):
    w, b = int(rng.integers(1, 201)), int(rng.integers(-100, 101))
    values = read(compute("neuron", w=w, b=b))
    assert values["y0"] == pytest.approx(torch.sigmoid(torch.tensor(float(b))).item(), rel=1e-5, abs=1e-7)
    assert values["y1"] == pytest.approx(torch.sigmoid(torch.tensor(float(w + b))).item(), rel=1e-5, abs=1e-7)
    assert values["step"] == pytest.approx(-b / w) and values["slope"] == pytest.approx(w / 4)
    s1, s2 = sorted(rng.uniform(0.1, 0.9, 2).round(2))
    w1, w2 = rng.uniform(-3, 3, 2).round(1)
    values = read(compute("steps", s1=s1, s2=s2, w1=w1, w2=w2))
    assert values["y_right"] == pytest.approx(w1 + w2, abs=1e-5) and abs(values["y_left"]) < 1e-5
    h1, h2 = rng.uniform(-2, 2, 2).round(2)
    values = read(compute("rects", s11=0.1, s12=0.3, s21=0.5, s22=0.9, h1=h1, h2=h2))
    assert values["rect1"] == pytest.approx(h1, abs=1e-5) and values["rect2"] == pytest.approx(h2, abs=1e-5)


@pytest.mark.parametrize("name", list(layers.ACTIVATIONS))
def test_activation_derivatives_equal_torch_autograd(name, rng):
    a, x0 = round(float(rng.uniform(0.05, 3)), 2), round(float(rng.uniform(-5, 5)), 2)
    values = read(compute("activations", activation=name, parameter=a, x0=x0))
    x = torch.tensor([x0], dtype=torch.float32, requires_grad=True)
    y = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "leaky_relu": lambda t: TF.leaky_relu(t, a),
         "elu": lambda t: TF.elu(t, a), "softplus": lambda t: TF.softplus(t, beta=a), "gelu": TF.gelu,
         "silu": TF.silu, "softsign": TF.softsign}[name](x)
    y.sum().backward()
    assert values["f_x0"] == pytest.approx(y.item(), rel=1e-5, abs=1e-6)
    assert values["df_x0"] == pytest.approx(x.grad.item(), rel=1e-5, abs=1e-6)


def test_pooling_steps_through_torchs_output(rng):
    for _ in range(6):
        name = str(rng.choice(list(layers.EXAMPLES)))
        kind, k, s = str(rng.choice(["max", "avg"])), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        image = torch.tensor(layers.EXAMPLES[name][1](), dtype=torch.float32)[None, None]
        expected = (TF.max_pool2d if kind == "max" else TF.avg_pool2d)(image, k, s)[0, 0].numpy()
        full = compute("pooling", input=name, kind=kind, kernel=k, stride=s, step=64)
        np.testing.assert_allclose(np.array(cells(full, "output"), float), expected, rtol=1e-6)
        step = int(rng.integers(0, expected.size + 1))
        part = np.array(cells(compute("pooling", input=name, kind=kind, kernel=k, stride=s, step=step), "output"),
                        dtype=object).ravel()
        assert [v is not None for v in part] == [i < step for i in range(expected.size)]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_convolution_equals_torch_with_its_padding_mode(mode, rng):
    name, kernel = str(rng.choice(list(layers.EXAMPLES))), str(rng.choice(list(layers.KERNELS)))
    p, s = int(rng.integers(0, 3)), int(rng.integers(1, 4))
    image = torch.tensor(layers.EXAMPLES[name][1](), dtype=torch.float32)[None, None]
    if mode == "reflect" and p >= min(image.shape[-2:]):
        p = 1
    weight = torch.tensor(layers.KERNELS[kernel][1](), dtype=torch.float32)[None, None]
    padded = TF.pad(image, (p,) * 4, mode="constant" if mode == "zeros" else mode) if p else image
    expected = TF.conv2d(padded, weight, stride=s)[0, 0].numpy()
    result = compute("convolution", input=name, kernel=kernel, padding=p, mode=mode, stride=s, step=64)
    np.testing.assert_allclose(np.array(cells(result, "output"), float), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.array(cells(result, "input"), float), padded[0, 0].numpy())


def test_transposed_convolution_stamps_one_pixel_per_step(rng):
    for _ in range(6):
        name, kernel = str(rng.choice(list(layers.SMALL_INPUTS))), str(rng.choice(list(layers.KERNELS)))
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 2))
        image, weight = layers.SMALL_INPUTS[name][1](), layers.KERNELS[kernel][1]()
        k = weight.shape[0]
        step = int(rng.integers(0, image.size + 1))
        canvas = np.zeros(((image.shape[0] - 1) * s + k, (image.shape[1] - 1) * s + k))
        for index in range(step):  # the formula the page states, written out
            i, j = divmod(index, image.shape[1])
            canvas[i * s:i * s + k, j * s:j * s + k] += image[i, j] * weight
        expected = canvas[p:canvas.shape[0] - p, p:canvas.shape[1] - p]
        result = compute("transposed", input=name, kernel=kernel, stride=s, padding=p, step=step)
        np.testing.assert_allclose(np.array(cells(result, "output"), float), expected, atol=1e-5)
        final = TF.conv_transpose2d(torch.tensor(image, dtype=torch.float32)[None, None],
                                    torch.tensor(weight, dtype=torch.float32)[None, None], stride=s, padding=p)
        np.testing.assert_allclose(np.array(cells(result, "final"), float), final[0, 0].numpy(), atol=1e-5)


@pytest.mark.parametrize("mode, align", [("nearest", "no"), ("bilinear", "no"), ("bilinear", "yes")])
def test_upsampling_equals_torch(mode, align, rng):
    name, scale = str(rng.choice(list(layers.SMALL_INPUTS))), int(rng.integers(2, 5))
    image = torch.tensor(layers.SMALL_INPUTS[name][1](), dtype=torch.float32)[None, None]
    expected = TF.interpolate(image, scale_factor=scale, mode=mode,
                              align_corners=None if mode == "nearest" else align == "yes")[0, 0].numpy()
    result = compute("upsampling", input=name, mode=mode, scale=scale, align_corners=align)
    np.testing.assert_allclose(np.array(cells(result, "output"), float), expected, rtol=1e-6, atol=1e-6)


def test_batch_norm_statistics_equal_torch(rng):
    mean, std, batch, momentum, steps, seed = 1.5, 0.7, int(rng.integers(2, 30)), 0.25, int(rng.integers(1, 40)), 3
    values = read(compute("batchnorm", mean=mean, std=std, batch=batch, momentum=momentum, steps=steps, x0=2.5, seed=seed))
    layer = torch.nn.BatchNorm1d(1, momentum=momentum, affine=False)
    data = np.random.default_rng(seed)
    for _ in range(steps):
        last = (mean + std * data.standard_normal((batch, 1))).astype(np.float32)
        layer(torch.tensor(last))
    layer.eval()
    assert values["running_mean"] == pytest.approx(layer.running_mean.item(), rel=1e-5)
    assert values["running_var"] == pytest.approx(layer.running_var.item(), rel=1e-5)
    assert values["batch_var"] == pytest.approx(last.var(), rel=1e-5)
    assert values["eval_x0"] == pytest.approx(layer(torch.tensor([[2.5]])).item(), rel=1e-5)


def test_backprop_values_and_gradients_equal_torch(rng):
    x0 = round(float(rng.uniform(0.05, 10)), 2)
    result = compute("backprop", x=x0)
    nodes = {node["id"]: node for node in panel(result, "graph")["nodes"]}
    x = torch.tensor(x0, requires_grad=True)
    a = torch.log(x)
    a.retain_grad()
    y = a ** 2
    y.backward()
    assert nodes["a"]["value"] == pytest.approx(a.item(), rel=1e-6) and nodes["y"]["value"] == pytest.approx(y.item(), rel=1e-5)
    assert nodes["a"]["grad"] == pytest.approx(a.grad.item(), rel=1e-5) and nodes["x"]["grad"] == pytest.approx(x.grad.item(), rel=1e-5)
    assert nodes["y"]["grad"] == 1.0


def test_approximation_errors_shrink_with_units_and_typed_functions_work():
    coarse, fine = (read(compute("approximation", units=units, epochs=0)) for units in (6, 120))
    assert fine["max_error_constructive"] < coarse["max_error_constructive"] / 5
    typed = read(compute("approximation", target="custom", expression="x**2", low=-1, high=1, units=40, epochs=300))
    assert typed["max_error_constructive"] < 0.1 and typed["max_error_trained"] < 0.2
    with pytest.raises(UserError, match="cannot parse"):
        compute("approximation", target="custom", expression="x**")
    with pytest.raises(UserError, match="not finite"):
        compute("approximation", target="custom", expression="1/x", low=-1, high=1)
    with pytest.raises(UserError, match="low must be below high"):
        compute("approximation", target="custom", low=1, high=0)


def test_training_stream_grows_and_counts_its_steps():
    page = PAGES["training"]
    for optimizer, batch in (("gd", 8), ("sgd", 10), ("momentum", 64), ("adam", 5)):
        values = page.read({"optimizer": optimizer, "batch": str(batch), "epochs": "30", "lr": "0.01"})
        updates = list(training.training_run(values))
        final = read(updates[-1])
        assert updates[-1]["done"] and not any(update["done"] for update in updates[:-1])
        assert final["epoch"] == 30 and final["steps"] == 30 * (1 if optimizer == "gd" else -(-64 // batch))
        losses = panel(updates[-1], "plot")["series"][0]["y"]
        assert len(losses) == 30 and losses[-1] < losses[0], optimizer
        again = read(list(training.training_run(values))[-1])
        assert again["loss"] == final["loss"]  # seeded: the same controls give the same run


def test_denoise_and_anomaly_pages_use_the_shipped_models():
    from nnci.metrics import psnr
    from nnci.tasks import denoise
    from nnci.learn.pages.applications import centre_crop, denoiser, noisy_version
    from nnci.data import load_photo
    values = read(compute("denoise", photo="moon", sigma=30, size=128, seed=4))
    clean = centre_crop(load_photo("moon"), 128)
    noisy = noisy_version(clean, 30, 4)
    assert values["psnr_noisy"] == pytest.approx(psnr(np.clip(noisy, 0, 1), clean), abs=1e-9)
    expected = psnr(np.clip(denoise.apply(denoiser(), noisy, sigma=30), 0, 1), clean)
    assert values["psnr_denoised"] == pytest.approx(expected, abs=1e-9) and expected > values["psnr_noisy"] + 8
    good, bad = (read(compute("anomaly", defect=defect, seed=11)) for defect in ("none", "spot"))
    assert bad["anomalous"] == 1 and bad["score"] > good["score"] and good["threshold"] == bad["threshold"] > 0


# ----- over HTTP -------------------------------------------------------------------------------------
def test_http_answers_json_and_errors_name_the_control(learn_url):
    status, body = get(learn_url + "/api/neuron?w=20&b=-10")
    assert status == 200 and json.loads(body)["panels"][1]["items"][0]["value"] == pytest.approx(0.5)
    status, body = get(learn_url + "/api/neuron?w=500")
    assert status == 400 and json.loads(body) == {"error": "w: expected a whole number in [1, 200], got '500'"}
    status, body = get(learn_url + "/api/approximation?target=custom&expression=__import__('os')")
    assert status == 400 and "unknown name '__import__'" in json.loads(body)["error"]
    assert get(learn_url + "/api/nowhere")[0] == 404 and get(learn_url + "/nowhere")[0] == 404
    for slug in PAGES:
        status, body = get(f"{learn_url}/{slug}")
        assert status == 200 and b'id="spec"' in body and PAGES[slug].title.encode() in body
    assert get(learn_url + "/api/neuron", headers={"Host": "attacker.example"})[0] == 400  # no DNS rebinding


def test_stream_delivers_the_training_epoch_by_epoch(learn_url):
    status, body = get(learn_url + "/api/training/stream?epochs=12&optimizer=gd&lr=0.1")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and lines[-1]["done"] and read(lines[-1])["epoch"] == 12
    epochs = [read(line)["epoch"] for line in lines]
    assert epochs == sorted(epochs) and len(set(epochs)) == len(epochs)
    assert get(learn_url + "/api/training/stream?epochs=0")[0] == 400


def test_uploads_refuse_non_images_and_downscale_huge_ones(learn_url):
    import io
    from PIL import Image
    status, body = get(learn_url + "/api/denoise/upload", b"not an image", {"X-Filename": "notes.txt"})
    assert status == 400 and json.loads(body)["error"].startswith("notes.txt: not an image")
    buffer = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((1500, 2500)) * 255).astype(np.uint8)).save(buffer, "PNG")
    status, body = get(learn_url + "/api/denoise/upload", buffer.getvalue(), {"X-Filename": "wide.png"})
    answer = json.loads(body)
    assert status == 200 and "2500 x 1500 pixels, downscaled to 1024 x 614" in answer["note"]
    status, body = get(f"{learn_url}/api/denoise?photo=upload&upload={answer['token']}&size=128")
    assert status == 200 and read(json.loads(body))["psnr_denoised"] > 0
    status, body = get(f"{learn_url}/api/denoise?photo=upload&upload=0123456789abcdef")
    assert status == 400 and "upload it again" in json.loads(body)["error"]
    assert get(learn_url + "/api/neuron")[0] == 200  # still serving


def test_the_port_is_loopback_only_and_a_taken_port_is_one_message(learn_url):
    from nnci.learn.app import bind
    port = int(learn_url.rsplit(":", 1)[1])
    with pytest.raises(UserError, match=f"--port {port}: cannot listen on 127.0.0.1:{port}"):
        bind(port)
    sock = bind(0)
    assert sock.getsockname()[0] == "127.0.0.1"
    sock.close()


def test_cli_learn_checks_its_options_and_its_extra(monkeypatch, capsys):
    import importlib.util
    from nnci.cli import main
    with pytest.raises(SystemExit) as caught:
        main(["learn", "--port", "70000"])
    assert caught.value.code == 2 and "expected a port in [0, 65535]" in capsys.readouterr().err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    assert main(["learn", "--no-browser"]) == 1
    assert "nnci learn needs uvicorn: pip install 'nnci[learn]'" in capsys.readouterr().err
