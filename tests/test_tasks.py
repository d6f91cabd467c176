"""The task command lines: the shared contract, the quality targets, and bad input."""
import json
import subprocess
import sys

import numpy as np
import pytest

import nnci
from nnci.cli import main
from nnci.tasks import approximate, classify, synthesize
from nnci.tasks.approximate import constructive_network, evaluate_on_grid, target_function

CONTRACT = ("model.safetensors", "config.json", "history.json", "loss.png")


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_classify_reaches_97_percent_with_the_defaults(tmp_path, capsys):
    out = tmp_path / "classify"
    assert main(["classify", "train", "--out", str(out), "--quiet"]) == 0
    assert all((out / name).exists() for name in CONTRACT)
    result = run_json(capsys, ["classify", "eval", "--weights", str(out / "model.safetensors"), "--json",
                               "--out", str(tmp_path / "eval")])
    assert result["model"]["accuracy"] >= 0.97
    assert result["model"]["accuracy"] > result["baselines"]["nearest class mean"]["accuracy"]
    assert (tmp_path / "eval" / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "classify"
    # the Python API computes what the command line prints
    model = classify.load(out / "model.safetensors")
    assert classify.evaluate(model)["model"] == result["model"]
    digits, labels = classify.digits_split()["test"]
    predicted = classify.apply(model, [digit[0] for digit in digits[:50]])
    assert np.mean(np.array(predicted) == labels[:50]) >= 0.9
    # run: dark digits on light paper, at another size, are classified the same as the bundled ones
    from nnci.io import write_image
    from skimage.transform import resize
    folder = tmp_path / "digits"
    folder.mkdir()
    for index in range(10):
        write_image(folder / f"{index:02d}.png", 1 - resize(digits[index, 0] / digits[index, 0].max(), (32, 32)))
    assert main(["classify", "run", str(folder), "-o", str(tmp_path / "labels.json"), "--weights",
                 str(out / "model.safetensors"), "--quiet"]) == 0
    rows = json.loads((tmp_path / "labels.json").read_text())
    assert [row["input"] for row in rows] == [str(folder / f"{index:02d}.png") for index in range(10)]
    assert np.mean([row["label"] == label for row, label in zip(rows, labels[:10])]) >= 0.8
    assert all(abs(sum(row["probabilities"]) - 1) < 1e-4 for row in rows)
    assert main(["classify", "run", str(folder), "-o", str(tmp_path / "labels.json"), "--weights",
                 str(out / "model.safetensors")]) == 1
    assert "already exists; use --force" in capsys.readouterr().err
    assert main(["classify", "run", str(folder), "-o", str(tmp_path / "labels.txt"), "--weights",
                 str(out / "model.safetensors")]) == 1
    assert "write the results as .json or .csv" in capsys.readouterr().err


def test_synthesize_contract_and_elbo_report(tmp_path, capsys):
    out = tmp_path / "vae"
    assert main(["synthesize", "train", "--out", str(out), "--epochs", "3", "--quiet"]) == 0
    assert all((out / name).exists() for name in CONTRACT)
    result = run_json(capsys, ["synthesize", "eval", "--weights", str(out / "model.safetensors"), "--json",
                               "--out", str(tmp_path / "eval")])
    model = result["model"]
    assert model["elbo"] == pytest.approx(-(model["reconstruction_nll"] + model["kl"]), rel=1e-6)
    assert model["reconstruction_nll"] > result["reconstruction_nll_floor"]
    assert (tmp_path / "eval" / "samples.png").exists() and (tmp_path / "eval" / "interpolation.png").exists()
    vae = synthesize.load(out / "model.safetensors")
    assert synthesize.evaluate(vae)["model"] == result["model"]
    drawn = synthesize.sample(vae, 5, seed=3)
    assert drawn.shape == (5, 8, 8) and np.array_equal(drawn, synthesize.sample(vae, 5, seed=3))
    assert drawn.min() >= 0 and drawn.max() <= 1
    assert main(["synthesize", "run", "--weights", str(out / "model.safetensors"), "-n", "8",
                 "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_constructive_error_falls_with_width_and_is_small_for_sin():
    f = target_function("sin")
    errors = [evaluate_on_grid(constructive_network(f, n, 0.0, 1.0), f, 0.0, 1.0)[2]["max_error"]
              for n in (2, 4, 8, 16, 32, 64, 128, 256)]
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 0.02


def test_approximate_contract_and_user_expression(tmp_path, capsys):
    out = tmp_path / "approx"
    assert main(["approximate", "train", "--function", "x**2 - 0.5*abs(x)", "--low", "-1", "--high", "1", "--units",
                 "16", "--epochs", "300", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert all((out / name).exists() for name in CONTRACT) and (out / "approximation.png").exists()
    result = run_json(capsys, ["approximate", "eval", "--weights", str(out / "model.safetensors"), "--json"])
    assert result["model"]["max_error"] < 0.1 and result["domain"] == [-1.0, 1.0]
    assert "constructive" in result["baselines"]
    model = approximate.load(out / "model.safetensors")
    assert approximate.evaluate(model)["model"] == result["model"]
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4))
    y = approximate.apply(model, x)
    assert y.shape == (3, 4) and np.abs(y - (x ** 2 - 0.5 * np.abs(x))).max() < result["model"]["max_error"] + 1e-6
    # run: numbers and a file of numbers in, {x, y, f} rows out
    (tmp_path / "xs.txt").write_text("0.25, 0.5\n0.75\n")
    assert main(["approximate", "run", "-0.5", str(tmp_path / "xs.txt"), "-o", str(tmp_path / "y.csv"),
                 "--weights", str(out / "model.safetensors"), "--quiet"]) == 0
    lines = (tmp_path / "y.csv").read_text().splitlines()
    assert lines[0] == "x,y,f" and [float(line.split(",")[0]) for line in lines[1:]] == [-0.5, 0.25, 0.5, 0.75]
    expected = approximate.apply(model, np.array([-0.5, 0.25, 0.5, 0.75]))
    assert np.allclose([float(line.split(",")[1]) for line in lines[1:]], expected, rtol=0, atol=1e-12)
    (tmp_path / "bad.txt").write_text("0.1 zero")
    assert main(["approximate", "run", str(tmp_path / "bad.txt"), "-o", str(tmp_path / "z.json"),
                 "--weights", str(out / "model.safetensors")]) == 1
    assert "bad.txt: value 2 ('zero')" in capsys.readouterr().err
    # a bad expression is refused while the options are read, in one line naming the option
    result = cli("approximate", "train", "--function", "__import__('os')", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "--function" in result.stderr and "unknown name '__import__'" in result.stderr
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="function: .*unknown name '__import__'"):
        approximate.train(function="__import__('os')")
    with pytest.raises(ValueError, match="low < high"):
        approximate.train(low=1.0, high=0.5, epochs=1)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "nnci.cli", *args], capture_output=True, text=True)


def test_unknown_task_or_option_is_one_line_without_traceback():
    for args, message in ((["segmentify"], "invalid choice: 'segmentify'"),
                          (["classify", "train", "--out", "unused", "--bogus"], "unrecognized arguments: --bogus")):
        result = cli(*args)
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
        assert "--help)" in result.stderr and "Traceback" not in result.stderr
    result = cli("classify")  # a task without an action: its help
    assert result.returncode == 2 and "usage: nnci classify" in result.stderr


def test_unwritable_output_directory_is_reported_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli("classify", "train", "--out", str(blocker / "sub"))
    assert result.returncode == 1
    assert "cannot write to output directory" in result.stderr and "Traceback" not in result.stderr
    assert "epoch" not in result.stdout


def test_existing_model_is_not_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "a"
    assert main(["approximate", "train", "--units", "4", "--epochs", "5", "--out", str(out), "--quiet"]) == 0
    before = (out / "model.safetensors").read_bytes()
    assert main(["approximate", "train", "--units", "4", "--epochs", "5", "--out", str(out), "--quiet"]) == 1
    assert "already exists; use --force" in capsys.readouterr().err
    assert (out / "model.safetensors").read_bytes() == before


def test_weights_of_another_task_or_architecture_are_rejected(tmp_path, capsys):
    out = tmp_path / "a"
    assert main(["approximate", "train", "--units", "4", "--epochs", "5", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    weights = str(out / "model.safetensors")
    assert main(["classify", "eval", "--weights", weights]) == 1
    assert "weights of task 'approximate', not 'classify'" in capsys.readouterr().err
    # same task, but the tensors do not fit the architecture the config describes
    state = {k: v.detach().numpy() for k, v in nnci.load(weights).items()}
    state["0.weight"] = np.zeros((5, 1), np.float32)
    meta = nnci.serialization.safetensors_metadata(weights)
    nnci.save(state, tmp_path / "bad.safetensors", metadata=meta)
    assert main(["approximate", "eval", "--weights", str(tmp_path / "bad.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "size mismatch for 0.weight: copying a param with shape [5, 1] from checkpoint, the shape in current " \
           "model is [4, 1]" in err
    (tmp_path / "junk.safetensors").write_bytes(b"not weights at all")
    assert main(["approximate", "eval", "--weights", str(tmp_path / "junk.safetensors")]) == 1
    assert "junk.safetensors" in capsys.readouterr().err


def test_approximate_sweep_prints_the_table_and_writes_plots(tmp_path, capsys):
    assert main(["approximate", "sweep", "--function", "sin", "--steps", "30", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.strip() and line.split()[0].isdigit()]
    assert [int(r[0]) for r in rows] == [2, 4, 8, 16, 32, 64, 128, 256]
    assert float(rows[-1][1]) < 0.02
    assert (tmp_path / "error_curve.png").exists() and (tmp_path / "approximations.png").exists()
    assert len(json.loads((tmp_path / "sweep.json").read_text())) == 8
