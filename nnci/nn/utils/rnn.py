"""Variable-length sequences (torch.nn.utils.rnn): padding, and packing as torch packs them.

A PackedSequence holds the time steps of a batch sorted by length (longest first) one after another:
`data` is (sum of lengths, *), `batch_sizes[t]` how many sequences are still running at step t;
`sorted_indices` maps sorted position -> original batch index and `unsorted_indices` back (None when the
batch came sorted). The recurrent layers run a PackedSequence step by step, each sequence stopping at its
own length, and return one.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Sequence

from ...backend import xp
from ...tensor import Tensor


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as torch's"""

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> "PackedSequence":
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _inverse(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    @property
    def is_cuda(self) -> bool:
        return False

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        return self._replace(data=self.data.to(*args, **kwargs))

    def float(self) -> "PackedSequence":
        return self._replace(data=self.data.float())

    def double(self) -> "PackedSequence":
        return self._replace(data=self.data.double())


def _inverse(order: Tensor) -> Tensor:
    inverse = xp.empty_like(order._array)
    inverse[order._array] = xp.arange(order._array.size)
    return Tensor._wrap(inverse)


def _lengths_array(lengths: Any) -> Any:
    array = xp.asarray(lengths.tolist() if isinstance(lengths, Tensor) else lengths, dtype=xp.int64).reshape(-1)
    return array


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (L, N, *) (or (N, L, *)) whose sequences have the given lengths."""
    from ...ops.shape import cat
    lengths = _lengths_array(lengths)
    x = input.transpose(0, 1) if batch_first else input
    if lengths.size != x.shape[1]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} (batch_size="
                           f"{x.shape[1]})")
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    sorted_indices = None
    if enforce_sorted:
        if (xp.diff(lengths) > 0).any():
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
                               "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                               "sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = xp.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = Tensor._wrap(order.astype(xp.int64))
        x = x.index_select(1, sorted_indices)
    if lengths.size and lengths[0] > x.shape[0]:
        raise RuntimeError(f"Expected sequence length to be larger than or equal to the longest length "
                           f"{int(lengths[0])}, got {x.shape[0]}")
    steps = int(lengths[0]) if lengths.size else 0
    batch_sizes = xp.asarray([(lengths > t).sum() for t in range(steps)], dtype=xp.int64)
    data = cat([x[t, :int(b)] for t, b in enumerate(batch_sizes)], 0)
    return PackedSequence(data, Tensor._wrap(batch_sizes), sorted_indices)


def packed_to_padded(sequence: PackedSequence, padding_value: float = 0.0) -> Tensor:
    """The (L, N, *) padded batch of a PackedSequence, in its sorted order."""
    from ...ops.shape import cat, stack
    data, sizes = sequence.data, [int(b) for b in sequence.batch_sizes.tolist()]
    batch = sizes[0] if sizes else 0
    rows, start = [], 0
    for b in sizes:
        step = data[start:start + b]
        if b < batch:
            step = cat([step, step.new_full((batch - b,) + tuple(data.shape[1:]), padding_value)], 0)
        rows.append(step)
        start += b
    return stack(rows, 0)


def padded_to_packed(padded: Tensor, like: PackedSequence) -> PackedSequence:
    """A padded (L, N, *) batch in `like`'s sorted order, packed with `like`'s batch sizes."""
    from ...ops.shape import cat
    sizes = [int(b) for b in like.batch_sizes.tolist()]
    data = cat([padded[t, :b] for t, b in enumerate(sizes)], 0)
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """(padded batch in the original order, lengths): the inverse of pack_padded_sequence."""
    from ...ops.shape import cat
    padded = packed_to_padded(sequence, padding_value)
    sizes = xp.asarray(sequence.batch_sizes.tolist(), dtype=xp.int64)
    lengths = xp.asarray([(sizes > i).sum() for i in range(int(sizes[0]) if sizes.size else 0)], dtype=xp.int64)
    if total_length is not None:
        if total_length < padded.shape[0]:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {padded.shape[0]}")
        if total_length > padded.shape[0]:
            extra = padded.new_full((total_length - padded.shape[0],) + tuple(padded.shape[1:]), padding_value)
            padded = cat([padded, extra], 0)
    lengths_t = Tensor._wrap(lengths)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths_t = Tensor._wrap(lengths[sequence.unsorted_indices._array])
    return (padded.transpose(0, 1) if batch_first else padded), lengths_t


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


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """pack_padded_sequence(pad_sequence(sequences), their lengths)"""
    return pack_padded_sequence(pad_sequence(sequences), [s.shape[0] for s in sequences],
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """The sequences of a padded batch, each cut to its length."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(_lengths_array(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
