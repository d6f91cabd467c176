"""ONNX export: the graph run by onnxruntime agrees with nnci on the course's models, at random sizes."""
import numpy as np
import onnxruntime
import pytest

import nnci
import nnci.nn as nn
from nnci.cli import main
from nnci.models import VGG, BasicBlock, ConvAutoencoder, DnCNN, ResNet, SIDNet, UNet
from nnci.onnx import ExportError, export


def settle_batch_norm(model, shape):
    """A few training-mode passes so the running statistics differ from their initial 0 and 1."""
    model.train()
    with nnci.no_grad():
        for _ in range(2):
            model(nnci.randn(*shape) * 2 + 0.5)
    model.eval()


def assert_round_trip(model, shape, path, seed=0):
    settle_batch_norm(model, shape)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    export(model, x, path)
    got = onnxruntime.InferenceSession(str(path)).run(None, {"input": x})
    with nnci.no_grad():
        want = model(nnci.tensor(x))
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.detach().numpy(), rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(w.detach().numpy()).max())))


@pytest.mark.parametrize("seed", range(3))
def test_dncnn(seed, tmp_path):
    rng = np.random.default_rng(seed)
    nnci.manual_seed(seed)
    channels = int(rng.choice([1, 3]))
    model = DnCNN(channels, depth=int(rng.integers(3, 7)), width=int(rng.choice([8, 16])))
    shape = (int(rng.integers(1, 3)), channels, int(rng.integers(9, 30)), int(rng.integers(9, 30)))
    assert_round_trip(model, shape, tmp_path / "dncnn.onnx", seed)


@pytest.mark.parametrize("seed", range(3))
def test_unet_with_transposed_conv_or_bilinear_upsampling_and_odd_sizes(seed, tmp_path):
    rng = np.random.default_rng(seed)
    nnci.manual_seed(seed)
    upsampling = ["transpose", "bilinear"][seed % 2]
    model = UNet(2, 3, depth=int(rng.integers(2, 4)), base_width=8, upsampling=upsampling)
    assert_round_trip(model, (2, 2, int(rng.integers(17, 40)), int(rng.integers(17, 40))), tmp_path / "unet.onnx",
                      seed)


@pytest.mark.parametrize("seed", range(2))
def test_vgg(seed, tmp_path):
    nnci.manual_seed(seed)
    model = VGG("small", in_channels=3, num_classes=7, width=0.25, hidden=32)
    assert_round_trip(model, (3, 3, 32, 32), tmp_path / "vgg.onnx", seed)


@pytest.mark.parametrize("upsampling", ["transpose", "bilinear", "nearest"])
def test_autoencoder(upsampling, tmp_path):
    nnci.manual_seed(1)
    model = ConvAutoencoder(1, 16, (8, 16), latent_dim=8, upsampling=upsampling, batch_norm=True)
    assert_round_trip(model, (2, 1, 16, 16), tmp_path / "ae.onnx")


def test_resnet_with_zero_padding_shortcut_and_sid_network(tmp_path):
    nnci.manual_seed(2)
    assert_round_trip(ResNet(BasicBlock, [1, 1], in_channels=1, num_classes=4, shortcut="zeros"), (2, 1, 16, 16),
                      tmp_path / "resnet.onnx")
    assert_round_trip(SIDNet(depth=2, base_width=8), (1, 4, 12, 16), tmp_path / "sid.onnx")


def test_activations_softmax_and_elementwise_with_constants(tmp_path):
    nnci.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 8), nn.LeakyReLU(0.1), nn.Linear(8, 8), nn.ELU(), nn.Softplus(beta=2.0),
                          nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 4), nn.Sigmoid(), nn.Softmax(dim=1))
    assert_round_trip(model, (3, 5), tmp_path / "mlp.onnx")


def test_what_cannot_be_traced_is_refused(tmp_path):
    class OutsideTheEngine(nn.Module):
        def forward(self, x):
            return x * nnci.tensor(x.detach().numpy().mean())  # computed on the array: invisible to the trace

    with pytest.raises(ExportError, match="outside"):
        export(OutsideTheEngine(), np.ones((1, 3), np.float32), tmp_path / "x.onnx")

    class Fourier(nn.Module):
        def forward(self, x):
            return nnci.fft.rfft2(x)

    with pytest.raises(ExportError, match="RFFT2"):
        export(Fourier(), np.ones((1, 4, 4), np.float32), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_export_command_on_the_shipped_denoiser(tmp_path, capsys):
    from nnci.tasks.denoise import shipped_weights
    out = tmp_path / "dncnn.onnx"
    assert main(["export", "--weights", str(shipped_weights("dncnn_blind")), "--onnx", str(out), "--shape",
                 "1,1,37,41"]) == 0
    x = np.random.default_rng(0).random((1, 1, 37, 41), dtype=np.float32)
    got = onnxruntime.InferenceSession(str(out)).run(None, {"input": x})[0]
    from nnci.tasks.common import load_model
    from nnci.tasks.denoise import build
    model, _ = load_model(shipped_weights("dncnn_blind"), "denoise", build)
    with nnci.no_grad():
        np.testing.assert_allclose(got, model(nnci.tensor(x)).detach().numpy(), atol=1e-4)
    assert main(["export", "--weights", str(tmp_path / "missing.safetensors"), "--onnx", str(out)]) == 1
    assert "missing.safetensors" in capsys.readouterr().err


@pytest.mark.parametrize("task, weights, shape", [("denoise", "dncnn_gray_sigma25.safetensors", (1, 1, 40, 40)),
                                                  ("isp", "isp_sid.safetensors", (1, 4, 32, 32))])
def test_export_without_a_shape_takes_the_trained_input(task, weights, shape, tmp_path, capsys):
    from nnci.tasks.common import shipped_weights
    out = tmp_path / f"{task}.onnx"
    assert main(["export", "--weights", str(shipped_weights(weights)), "--onnx", str(out)]) == 0
    assert f"of shape {shape}" in capsys.readouterr().out
    runtime = onnxruntime.InferenceSession(str(out))
    assert tuple(runtime.get_inputs()[0].shape) == shape
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    assert runtime.run(None, {"input": x})[0].shape[0] == 1


def test_export_refuses_ffdnet_in_one_line(tmp_path, capsys):
    from nnci.tasks.denoise import shipped_weights
    assert main(["export", "--weights", str(shipped_weights("blind")), "--onnx", str(tmp_path / "f.onnx")]) == 1
    assert "FFDNet takes two inputs" in capsys.readouterr().err and not (tmp_path / "f.onnx").exists()
