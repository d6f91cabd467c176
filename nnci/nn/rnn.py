"""Recurrent layers with torch's equations, parameter names and shapes: RNN, LSTM, GRU and their cells.

    RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)
    LSTM: i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh);  c' = s(f) c + s(i) tanh(g);  h' = s(o) tanh(c')
    GRU:  r, z = s(W_i{r,z} x + b + W_h{r,z} h + b);  n = tanh(W_in x + b_in + r (W_hn h + b_hn));
          h' = (1 - z) n + z h
Each step is built from engine ops, so the gradient through time comes from autograd.
"""
from __future__ import annotations

import math
from typing import Any

from ..backend import xp
from ..dtypes import get_default_dtype
from ..ops import pointwise as P
from ..ops.shape import cat, flip, stack
from ..tensor import Tensor
from . import functional as F
from .init import uniform_
from .module import Module, Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _cell(mode: str, x_part: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor | None,
          w_hr: Tensor | None = None) -> tuple:
    """One step given x_part = W_ih x + b_ih: the new (h, c); an LSTM with projections has h' = W_hr (o tanh c')."""
    h_part = F.linear(h, w_hh, b_hh)
    if mode == "LSTM":
        i, f, g, o = (x_part + h_part).chunk(4, -1)
        c = P.sigmoid(f) * c + P.sigmoid(i) * P.tanh(g)
        h = P.sigmoid(o) * P.tanh(c)
        return (h if w_hr is None else F.linear(h, w_hr)), c
    if mode == "GRU":
        xr, xz, xn = x_part.chunk(3, -1)
        hr, hz, hn = h_part.chunk(3, -1)
        r, z = P.sigmoid(xr + hr), P.sigmoid(xz + hz)
        n = P.tanh(xn + r * hn)
        return (1 - z) * n + z * h, None
    total = x_part + h_part
    return (P.tanh(total) if mode == "RNN_TANH" else F.relu(total)), None


def _permute_states(hx: Any, order: Tensor) -> Any:
    """Initial states given in the caller's batch order, in the packed batch's (length-sorted) order."""
    if isinstance(hx, (tuple, list)):
        return type(hx)(state.index_select(1, order) for state in hx)
    return hx.index_select(1, order)


class RNNBase(Module):
    """The shared multi-layer, optionally bidirectional recurrent loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                             "being zeroed")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        state_size = proj_size or hidden_size  # the size of h
        kind = xp.dtype(dtype if dtype is not None else get_default_dtype())
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                size_in = input_size if layer == 0 else state_size * directions
                shapes = [("weight_ih", (gate, size_in)), ("weight_hh", (gate, state_size))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(Tensor._wrap(xp.empty(shape, kind))))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            uniform_(weight, -bound, bound)

    def _weights(self, layer: int, direction: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda name: getattr(self, name + suffix) if self.bias or not name.startswith("bias") else None  # noqa
        w_hr = getattr(self, "weight_hr" + suffix) if self.proj_size else None
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), w_hr

    def forward(self, input: Any, hx: Any = None) -> tuple:
        from .utils.rnn import PackedSequence, packed_to_padded, padded_to_packed
        packed = isinstance(input, PackedSequence)
        if packed:  # run on the padded batch (sorted by length), each sequence stopping at its own length
            x, batch_sizes = packed_to_padded(input), [int(b) for b in input.batch_sizes.tolist()]
            if hx is not None and input.sorted_indices is not None:
                hx = _permute_states(hx, input.sorted_indices)
            unbatched = False
        else:
            if input.ndim not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.ndim}D instead")
            unbatched = input.ndim == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
            batch_sizes = None
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{type(self).__name__}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        length, batch = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        h0, c0 = self._initial_state(hx, batch, directions, unbatched, x)
        final_h, final_c = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
                index = layer * directions + direction
                h, c = h0[index], (c0[index] if c0 is not None else None)
                x_parts = F.linear(x, w_ih, b_ih)  # every step's input part in one product
                steps: list = [None] * length
                for t in (reversed(range(length)) if direction else range(length)):
                    active = batch if batch_sizes is None else batch_sizes[t]
                    if active == batch:
                        h, c = _cell(self.mode, x_parts[t], h, c, w_hh, b_hh, w_hr)
                        steps[t] = h
                        continue
                    # the sequences that have ended keep their state; their outputs are zeros (padding)
                    h_new, c_new = _cell(self.mode, x_parts[t][:active], h[:active],
                                         None if c is None else c[:active], w_hh, b_hh, w_hr)
                    h = cat([h_new, h[active:]], 0)
                    c = None if c is None else cat([c_new, c[active:]], 0)
                    steps[t] = cat([h_new, h_new.new_zeros((batch - active,) + tuple(h_new.shape[1:]))], 0)
                outputs.append(stack(steps, 0))
                final_h.append(h)
                final_c.append(c)
            x = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = stack(final_h, 0)
        c_n = stack(final_c, 0) if self.mode == "LSTM" else None
        if packed:
            output = padded_to_packed(x, input)
            if input.unsorted_indices is not None:
                h_n = h_n.index_select(1, input.unsorted_indices)
                c_n = None if c_n is None else c_n.index_select(1, input.unsorted_indices)
        else:
            output = x.squeeze(1) if unbatched else (x.transpose(0, 1) if self.batch_first else x)
            if unbatched:
                h_n = h_n.squeeze(1)
                c_n = None if c_n is None else c_n.squeeze(1)
        if self.mode == "LSTM":
            return output, (h_n, c_n)
        return output, h_n

    def _initial_state(self, hx: Any, batch: int, directions: int, unbatched: bool, x: Tensor) -> tuple:
        layers = self.num_layers * directions
        shapes = [(layers, batch, self.proj_size or self.hidden_size), (layers, batch, self.hidden_size)]
        zeros = lambda shape: Tensor._wrap(xp.zeros(shape, x._array.dtype))  # noqa: E731
        if hx is None:
            return zeros(shapes[0]), (zeros(shapes[1]) if self.mode == "LSTM" else None)
        states = hx if self.mode == "LSTM" else (hx, None)
        if self.mode == "LSTM" and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0)")
        out = []
        for state, shape in zip(states, shapes):
            if state is None:
                out.append(None)
                continue
            state = state.unsqueeze(1) if unbatched else state
            if tuple(state.shape) != shape:
                raise RuntimeError(f"Expected hidden size {shape}, got {list(state.shape)}")
            out.append(state)
        return tuple(out)

    def flatten_parameters(self) -> None:
        return None

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"  # torch's RNN repr leaves out the nonlinearity
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        return text


class RNN(RNNBase):
    """Elman RNN: h' = tanh (or relu)(W_ih x + b_ih + W_hh h + b_hh)"""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM: gates i, f, g, o from W_ih x + b_ih + W_hh h + b_hh; c' = f c + i g; h' = o tanh(c')"""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """GRU: reset r, update z; n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = (1 - z) n + z h"""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class RNNCellBase(Module):
    """One step of a recurrent layer, with parameters weight_ih, weight_hh, bias_ih, bias_hh."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, dtype: Any) -> None:
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gate = _GATES[mode] * hidden_size
        kind = xp.dtype(dtype if dtype is not None else get_default_dtype())
        self.weight_ih = Parameter(Tensor._wrap(xp.empty((gate, input_size), kind)))
        self.weight_hh = Parameter(Tensor._wrap(xp.empty((gate, hidden_size), kind)))
        if bias:
            self.bias_ih = Parameter(Tensor._wrap(xp.empty(gate, kind)))
            self.bias_hh = Parameter(Tensor._wrap(xp.empty(gate, kind)))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
        for weight in self.parameters():
            uniform_(weight, -bound, bound)

    def _step(self, input: Tensor, hx: Any) -> tuple:
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        zeros = Tensor._wrap(xp.zeros((x.shape[0], self.hidden_size), x._array.dtype))
        if self.mode == "LSTM":
            h, c = (zeros, zeros) if hx is None else hx
        else:
            h, c = (zeros if hx is None else hx), None
        if unbatched and hx is not None:
            h = h.unsqueeze(0)
            c = c.unsqueeze(0) if c is not None else None
        h, c = _cell(self.mode, F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh)
        if unbatched:
            h = h.squeeze(0)
            c = c.squeeze(0) if c is not None else None
        return h, c

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """h' = tanh (or relu)(W_ih x + b_ih + W_hh h + b_hh)"""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """(h', c') of one LSTM step"""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple:
        return self._step(input, hx)


class GRUCell(RNNCellBase):
    """h' of one GRU step"""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]
