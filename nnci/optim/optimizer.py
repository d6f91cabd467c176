"""Optimizer base: parameter groups, per-parameter state, and a state_dict for checkpoints."""
from __future__ import annotations

from typing import Any, Iterable

from ..backend import xp
from ..tensor import Tensor


class Optimizer:
    """Holds param_groups (each a dict with 'params' and hyper-parameters) and per-parameter state."""

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups: list[dict] = []
        for group in groups:
            full = dict(defaults)
            full.update(group)
            full["params"] = list(group["params"])
            full.setdefault("initial_lr", full["lr"])
            self.param_groups.append(full)
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.data[...] = 0

    def step(self) -> None:
        raise NotImplementedError

    def _params_with_grad(self, group: dict) -> Iterable[tuple[Tensor, Any, dict]]:
        for p in group["params"]:
            if p.grad is not None:
                yield p, p.grad.data, self.state.setdefault(id(p), {})

    # ----- checkpoints: parameters are referred to by their position, as in torch -------------
    def state_dict(self) -> dict:
        """{'state': {index: {name: array or number}}, 'param_groups': [hyper-parameters + indices]}"""
        index, state, groups = 0, {}, []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                if id(p) in self.state:
                    state[index] = {k: (v.copy() if isinstance(v, xp.ndarray) else v)
                                    for k, v in self.state[id(p)].items()}
                ids.append(index)
                index += 1
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(own["params"]) for g, own in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved groups do not match this optimizer's")
        by_index = [p for group in self.param_groups for p in group["params"]]
        self.state = {}
        for key, values in state_dict["state"].items():
            p = by_index[int(key)]
            self.state[id(p)] = {k: (xp.array(v, dtype=p.dtype) if isinstance(v, xp.ndarray) and v.ndim else v)
                                 for k, v in values.items()}
        for own, saved in zip(self.param_groups, groups):
            own.update({k: v for k, v in saved.items() if k != "params"})
