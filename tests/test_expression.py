"""The typed-function parser of approximate and nnci learn: NumPy's values for what it accepts, one clear
message for what it refuses, and no way to reach Python beyond the listed functions."""
import numpy as np
import pytest

from nnci.tasks.expression import FUNCTIONS, compile_function
from nnci.tasks.options import UserError


@pytest.mark.parametrize("seed", range(4))
def test_values_equal_numpy(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 3, rng.integers(1, 50))
    a, b = rng.uniform(-2, 2, 2)
    cases = {
        f"sin({a}*x) + cos(x)**2 - {b}": np.sin(a * x) + np.cos(x) ** 2 - b,
        f"where(x < {abs(a)}, exp(-x), sqrt(x))": np.where(x < abs(a), np.exp(-x), np.sqrt(x)),
        "maximum(log(x), -x) // 0.5 + x % 0.3": np.maximum(np.log(x), -x) // 0.5 + x % 0.3,
        "-x**2 + +pi*e - abs(tanh(x - 1))": -x ** 2 + np.pi * np.e - np.abs(np.tanh(x - 1)),
        "clip(x, 0.5, 2) * sign(x - 1) + (1 < x) * 2": np.clip(x, 0.5, 2) * np.sign(x - 1) + (1 < x) * 2,
        "0.25 < x <= 2": (0.25 < x) & (x <= 2),
    }
    for text, expected in cases.items():
        np.testing.assert_allclose(compile_function(text)(x), expected, rtol=1e-12, atol=0, err_msg=text)


def test_constant_broadcasts_and_huge_powers_stay_floats():
    x = np.linspace(0, 1, 7)
    assert compile_function("3")(x).shape == (7,) and (compile_function("3")(x) == 3).all()
    assert np.isinf(compile_function("9**9**9")(x)).all()  # float64 overflow, not a huge Python integer
    assert np.isnan(compile_function("log(x - 2)")(x)).all()  # NumPy's nan, no warning raised


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "only the functions"),
    ("__import__('os')", "unknown name '__import__'"),
    ("x.__class__", "attribute expressions are not allowed"),
    ("(lambda: 1)()", "only the functions"),
    ("[x for x in ()]", "listcomp expressions are not allowed"),
    ("x if x else 1", "ifexp expressions are not allowed"),
    ("sin(x, x)", "sin() takes 1 positional argument"),  # numpy would write into x as out=
    ("where(x)", "where() takes 3 positional arguments"),
    ("sin(x=1)", "sin() takes 1 positional argument"),
    ("y + 1", "unknown name 'y'"),
    ("sin", "sin is a function: call it"),
    ("'text'", "'text' is not a number"),
    ("True", "True is not a number"),
    ("x @ x", "the operator MatMult is not allowed"),
    ("x is 1", "only the comparisons"),
    ("x +", "cannot parse"),
    ("", "the function is empty"),
    ("x" + "+x" * 300, "at most 500"),
])
def test_refused_with_a_message(text, message):
    with pytest.raises(UserError) as caught:
        compile_function(text)
    assert message in str(caught.value)


def test_only_listed_functions_are_callable():
    for name in FUNCTIONS:
        assert callable(FUNCTIONS[name]) and getattr(np, name) is FUNCTIONS[name]
    with pytest.raises(UserError, match="unknown name 'eval'"):
        compile_function("eval('1')")
