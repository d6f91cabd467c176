"""Optimizer base: parameter groups, per-parameter state keyed by the parameter, closures, and torch's state_dict
({'state': {index: {name: tensor or number}}, 'param_groups': [hyper-parameters + parameter indices]})."""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any, Callable, Iterable

from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import xp
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Holds param_groups (each a dict with 'params' and hyper-parameters) and state[param] dicts."""

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                            + type(params).__name__)
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (the defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; closure() (re)computes the loss first if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError

    def _params_with_grad(self, group: dict) -> Iterable[tuple[Tensor, Any, dict]]:
        """(param, gradient array, state) for the parameters of a group that have a gradient."""
        for p in group["params"]:
            if p.grad is not None:
                grad = p.grad._array
                if group.get("maximize"):
                    grad = -grad
                yield p, grad, self.state[p]

    @staticmethod
    def _changed(p: Tensor) -> None:
        p._bump_version()

    # ----- checkpoints: parameters are referred to by their position, as in torch -------------------
    def state_dict(self) -> dict:
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                packed["params"].append(index_of[id(p)])
            groups.append(packed)
        state = {}
        for p, values in self.state.items():
            if id(p) in index_of and values:  # a parameter with nothing kept (plain SGD) has no entry, as in torch
                state[index_of[id(p)]] = {k: (v.clone() if isinstance(v, Tensor) else copy.deepcopy(v))
                                          for k, v in values.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for saved, own in zip(groups, self.param_groups):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
        by_index = {index: p for saved, own in zip(groups, self.param_groups)
                    for index, p in zip(saved["params"], own["params"])}
        self.state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            key = int(key)
            if key not in by_index:
                continue
            p = by_index[key]
            self.state[p] = {name: self._cast_state(name, value, p) for name, value in values.items()}
        for saved, own in zip(groups, self.param_groups):
            own.update({k: (tuple(v) if k == "betas" and isinstance(v, list) else v)
                        for k, v in saved.items() if k != "params"})

    @staticmethod
    def _cast_state(name: str, value: Any, param: Tensor) -> Any:
        """A loaded state value as this optimizer keeps it: tensors in the parameter's dtype ('step' as it is)."""
        if isinstance(value, Tensor) or isinstance(value, xp.ndarray):
            array = value._array if isinstance(value, Tensor) else value
            if name == "step":
                return Tensor._wrap(xp.array(array, copy=True))
            return Tensor._wrap(xp.array(array, dtype=param._array.dtype, copy=True))
        return copy.deepcopy(value)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}


def step_count(state: dict) -> int:
    """Increment the state's step (a float32 0-dim tensor, as torch keeps it) and return it as an int."""
    step = state.get("step")
    if not isinstance(step, Tensor):  # absent, or a number from a checkpoint
        step = state["step"] = Tensor._wrap(xp.asarray(0 if step is None else step, xp.float32))
    step._array += 1
    return int(state["step"]._array)


def zeros_state(p: Tensor) -> Tensor:
    return Tensor._wrap(xp.zeros_like(p._array))
