"""The Distribution base class: batch and event shapes, sample through rsample without gradients, argument and
support validation with torch's messages."""
from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import no_grad
from ..dtypes import get_default_dtype
from ..ops.shape import broadcast_shapes, broadcast_to
from ..tensor import Size, Tensor
from . import constraints


def broadcast_all(*values: Any) -> tuple:
    """Numbers and tensors as tensors of one broadcast shape (numbers take the tensors' dtype)."""
    from ..creation import as_tensor
    tensors = [v for v in values if isinstance(v, Tensor)]
    dtype = tensors[0].dtype if tensors else get_default_dtype()
    as_tensors = [v if isinstance(v, Tensor) else as_tensor(float(v), dtype=dtype) for v in values]
    shape = broadcast_shapes(*(t.shape for t in as_tensors))
    return tuple(t if t.shape == shape else broadcast_to(t, shape) for t in as_tensors)


class lazy_property:  # noqa: N801 - torch's name
    """Computed on first access, then stored on the instance (which then shadows this descriptor)."""

    def __init__(self, function: Any) -> None:
        self.function, self.__doc__ = function, function.__doc__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        value = self.function(instance)
        instance.__dict__[self.function.__name__] = value
        return value


class Distribution:
    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support: Any = None
    _validate_args_default = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        Distribution._validate_args_default = bool(value)

    def __init__(self, batch_shape: Any = Size(), event_shape: Any = Size(), validate_args: bool | None = None) -> None:
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        self._validate_args = Distribution._validate_args_default if validate_args is None else validate_args
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if name not in self.__dict__ and isinstance(getattr(type(self), name, None), lazy_property):
                    continue  # a parameter given in its other form (probs for logits)
                value = getattr(self, name)
                valid = constraint.check(value)
                if not bool(valid.all()):
                    raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape "
                                     f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                     f"{constraint!r}, but found invalid values:\n{value}")

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no mean in nnci")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no mode in nnci")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no variance in nnci")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def _extended_shape(self, sample_shape: Any = Size()) -> Size:
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample(self, sample_shape: Any = Size()) -> Tensor:
        """A draw of shape sample_shape + batch_shape + event_shape, without gradients."""
        with no_grad():
            return self.rsample(sample_shape)

    def sample_n(self, n: int) -> Tensor:
        return self.sample(Size((n,)))

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler (rsample); use sample()")

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no cdf in nnci")

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no icdf in nnci")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no entropy in nnci")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def _validate_sample(self, value: Any) -> None:
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dims = len(self._event_shape)
        if tuple(value.shape[value.ndim - event_dims:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: {tuple(value.shape)} vs "
                             f"{tuple(self._event_shape)}.")
        try:
            broadcast_shapes(value.shape, self._batch_shape + self._event_shape)
        except RuntimeError:
            raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {tuple(value.shape)} vs "
                             f"{tuple(self._batch_shape + self._event_shape)}.") from None
        if self.support is not None and not bool(self.support.check(value).all()):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({self.support!r}) of the distribution {self!r}, but found "
                             f"invalid values:\n{value}")

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        text = ", ".join(f"{k}: {self.__dict__[k] if self.__dict__[k].numel() == 1 else self.__dict__[k].size()}"
                         for k in names)
        return f"{type(self).__name__}({text})"


class ExponentialFamily(Distribution):
    """Marker base class, as torch's."""


__all__ = ["Distribution", "ExponentialFamily", "broadcast_all", "constraints", "lazy_property"]
