"""Weights on disk: safetensors both ways with torch, .npz, atomic writes, clear errors on bad files."""
import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file as torch_load_file
from safetensors.torch import save_file as torch_save_file

import nnci
import nnci.nn as nn
from nnci.serialization import WeightsFileError


def model(lib):
    return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.Flatten(),
                          lib.Linear(4 * 5 * 5, 3))


def test_torch_safetensors_file_loads_into_the_matching_nnci_module(tmp_path):
    theirs = model(torch.nn)
    theirs.train()
    theirs(torch.randn(4, 1, 5, 5))  # non-trivial running stats and num_batches_tracked
    torch_save_file(theirs.state_dict(), tmp_path / "torch.safetensors")
    ours = model(nn)
    ours.load_state_dict(nnci.load(tmp_path / "torch.safetensors"))
    theirs.eval(), ours.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(nnci.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    assert ours.state_dict()["1.num_batches_tracked"].item() == 1


def test_nnci_file_loads_into_torch(tmp_path):
    ours = model(nn)
    nnci.save(ours.state_dict(), tmp_path / "ours.safetensors", metadata={"arch": "test"})
    theirs = model(torch.nn)
    loaded = torch_load_file(tmp_path / "ours.safetensors")
    assert {k: tuple(v.shape) for k, v in loaded.items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict(loaded)
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(value.detach().numpy(), ours.state_dict()[key].detach().numpy())
    assert nnci.serialization.safetensors_metadata(tmp_path / "ours.safetensors")["arch"] == "test"


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_round_trip_keeps_values_dtypes_and_shapes(tmp_path, suffix):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.float64(2.5) * np.ones(()),
              "c": np.array([1, 2], np.int64), "d": np.array([True, False])}
    state = {key: nnci.tensor(value) for key, value in arrays.items()}
    nnci.save(state, tmp_path / f"w{suffix}")
    loaded = nnci.load(tmp_path / f"w{suffix}")
    assert list(loaded) == list(state)
    for key, value in arrays.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key].numpy(), value)


def test_bfloat16_from_torch_is_widened(tmp_path):
    t = torch.tensor([1.5, -2.25, 3.0], dtype=torch.bfloat16)
    torch_save_file({"w": t}, tmp_path / "bf16.safetensors")
    np.testing.assert_array_equal(nnci.load(tmp_path / "bf16.safetensors")["w"].detach().numpy(), [1.5, -2.25, 3.0])


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "w.safetensors"
    nnci.save(model(nn).state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(WeightsFileError, match=str(path) + ".*truncated"):
        nnci.load(path)
    path.write_bytes(data[:5])
    with pytest.raises(WeightsFileError, match="only 5 bytes"):
        nnci.load(path)


@pytest.mark.parametrize("content", [b"PK\x03\x04not really a zip", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                                     b"hello world, this is text"])
def test_foreign_files_raise_a_clear_error(tmp_path, content):
    for name in ("foreign.safetensors", "foreign.npz"):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(WeightsFileError, match=name):
            nnci.load(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(WeightsFileError, match="no such weights file"):
        nnci.load(tmp_path / "absent.safetensors")


def test_pickled_npz_is_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(WeightsFileError, match="pickled.npz"):
        nnci.load(path)


def test_interrupted_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    nnci.save({"a": nnci.ones(3)}, path)

    class Boom(Exception):
        pass

    def exploding_replace(*args):
        raise Boom()

    monkeypatch.setattr(os, "replace", exploding_replace)
    with pytest.raises(Boom):
        nnci.save({"a": nnci.zeros(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(nnci.load(path)["a"].detach().numpy(), np.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]  # no temporary left behind


def test_saved_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        nnci.save({"a": np.ones(2, np.float32)}, tmp_path / "w.safetensors")
    finally:
        os.umask(old)
    assert (tmp_path / "w.safetensors").stat().st_mode & 0o777 == 0o644
