"""Padding variable-length sequences (torch.nn.utils.rnn). Packed sequences are not supported."""
from __future__ import annotations

from typing import Any, Sequence

from ...tensor import Tensor


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of different lengths, padding each to the longest: (L, N, *) or (N, L, *)."""
    from ...ops.shape import pad, stack
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        widths = [0, 0] * (s.ndim - 1) + ([0, missing] if padding_side == "right" else [missing, 0])
        padded.append(pad(s, widths, value=padding_value) if missing else s)
    out = stack(padded, 0)
    return out if batch_first else out.transpose(0, 1)


def _unsupported(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("packed sequences (pack_padded_sequence, pad_packed_sequence, pack_sequence) are not "
                              "supported by nnci; pad the batch with pad_sequence and mask the padding instead")


pack_padded_sequence = pad_packed_sequence = pack_sequence = _unsupported
