"""Tensor: an array, its gradient, a version counter, and the node of the graph that made it.

The array is `_array` (a NumPy array). Every differentiable op is an `Op` (nnci/autograd/graph.py):
`Op.apply` runs its forward on arrays and, when gradients are wanted, makes the op the output's
`grad_fn`, with edges to the nodes that made its inputs. `backward()` (nnci/autograd/engine.py)
walks those edges from the output back to the leaves and applies the chain rule.

As in torch, a view (reshape, permute, basic indexing, expand, ...) shares its base's memory and
its version counter; every in-place change bumps the counter, and a backward pass that needs a
value changed since the forward pass raises instead of computing a wrong gradient.
`x.data` is a tensor sharing x's memory whose changes autograd does not see.
"""
from __future__ import annotations

import copy
from typing import Any, Iterator, Sequence

from . import dtypes
from .autograd.grad_mode import is_grad_enabled
from .backend import xp
from .device import CPU, check_device
from .dtypes import as_dtype, default_numpy

__all__ = ["Tensor", "Size", "is_tensor", "to_array"]


class Size(tuple):
    """A tensor's shape: a tuple of ints (torch.Size)."""

    def numel(self) -> int:
        count = 1
        for n in self:
            count *= n
        return count

    def __repr__(self) -> str:
        return f"nnci.Size([{', '.join(str(n) for n in self)}])"

    def __getitem__(self, index: Any) -> Any:
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other: Any) -> "Size":
        return Size(tuple(self) + tuple(other))


class _Version:
    """The number of in-place changes made to a memory block, shared by a tensor and its views."""
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def to_array(data: Any, dtype: Any = None) -> Any:
    """`data` (a tensor, array, number or nested list) as an ndarray: Python floats become the default float
    dtype, ints int64, bools bool, as torch.tensor does; a NumPy array keeps its dtype."""
    if isinstance(data, Tensor):
        array = data._array
    elif isinstance(data, xp.ndarray):
        array = data
    else:
        numpy_scalars, inferred = False, None
        if isinstance(data, (list, tuple)):
            items = list(_flat_items(data))
            if any(isinstance(item, Tensor) for item in items):
                inferred = _nested_tensor_dtype(items)
                data = _unwrap_nested(data)
            numpy_scalars = any(isinstance(item, (xp.generic, xp.ndarray)) for item in items)
        if dtype is not None:  # straight to the asked dtype: 0.1 as float64 is not first rounded to float32
            return xp.asarray(data, dtype=as_dtype(dtype).dtype)
        array = xp.asarray(data, dtype=inferred)
        if numpy_scalars or inferred is not None or isinstance(data, xp.generic):
            pass  # NumPy values and tensors keep their dtype (np.float64(1.5) stays float64, as torch)
        elif array.dtype == xp.float64:
            array = array.astype(default_numpy())
        elif array.dtype.kind == "i" and array.dtype != xp.int64:
            array = array.astype(xp.int64)
    if dtype is not None:
        return array.astype(as_dtype(dtype).dtype, copy=False)
    if array.dtype.kind not in "biuf" or array.dtype not in _SUPPORTED:
        raise TypeError(f"nnci cannot make a tensor from data of dtype {array.dtype} "
                        f"(supported: {', '.join(d.name for d in dtypes.ALL)})")
    return array


_SUPPORTED = {d.dtype for d in dtypes.ALL}


def _flat_items(data: Any) -> Iterator[Any]:
    for item in data:
        if isinstance(item, (list, tuple)):
            yield from _flat_items(item)
        else:
            yield item


def _nested_tensor_dtype(items: list) -> Any:
    """torch.tensor([t, ...])'s dtype: the tensors' promoted dtype, Python numbers only widening its kind."""
    result = xp.result_type(*[item._array.dtype for item in items if isinstance(item, Tensor)])
    others = [item for item in items if not isinstance(item, Tensor)]
    if any(isinstance(v, float) for v in others) and result.kind in "biu":
        return default_numpy()
    if any(isinstance(v, int) and not isinstance(v, bool) for v in others) and result.kind == "b":
        return xp.dtype(xp.int64)
    return result


def _unwrap_nested(data: Any) -> Any:
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(item) for item in data]
    return data._array if isinstance(data, Tensor) else data


def is_tensor(obj: Any) -> bool:
    """True for nnci tensors (and Parameters)."""
    return isinstance(obj, Tensor)


class Tensor:
    """An n-dimensional array that records the ops applied to it and differentiates them."""

    __array_priority__ = 1000  # ndarray (op) tensor defers to the tensor's reflected operator, as in torch

    def __init__(self, *args: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> None:
        """torch.Tensor's legacy constructor: Tensor(data) copies data as the default float dtype,
        Tensor(n, m, ...) or Tensor(size) makes a zero-filled tensor of that shape."""
        check_device(device)
        kind = as_dtype(dtype).dtype if dtype is not None else default_numpy()
        if not args:
            array = xp.zeros(0, kind)
        elif all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            array = xp.zeros(tuple(args), kind)
        elif len(args) == 1 and isinstance(args[0], Size):
            array = xp.zeros(tuple(args[0]), kind)
        elif len(args) == 1:
            array = xp.array(to_array(args[0]), dtype=kind, copy=True)
        else:
            raise TypeError(f"Tensor(): expected data or sizes, got {args!r}")
        self._init(array, requires_grad)

    def _init(self, array: Any, requires_grad: bool = False) -> None:
        self._array = array
        self._requires_grad = False
        self._grad: Tensor | None = None
        self._grad_fn: Any = None
        self._output_nr = 0
        self._version_counter = _Version()
        self._base: Tensor | None = None
        self._view_fn: Any = None
        self._views: Any = None
        self._accumulator: Any = None
        self._retains_grad = False
        self._hooks: list | None = None
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, array: Any, requires_grad: bool = False) -> "Tensor":
        """A tensor around an existing ndarray (no copy, no checks): the engine's constructor."""
        tensor = object.__new__(cls)
        tensor._init(array)
        tensor._requires_grad = requires_grad
        return tensor

    # ----- what the tensor is ---------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._array.shape)

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of one dim."""
        if dim is None:
            return Size(self._array.shape)
        return self._array.shape[self._dim(dim)]

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.of_array(self._array)

    @property
    def device(self) -> Any:
        return CPU

    is_cuda = False
    is_cpu = True
    is_sparse = False
    is_quantized = False
    is_meta = False
    layout = "strided"

    @property
    def ndim(self) -> int:
        return self._array.ndim

    def dim(self) -> int:
        return self._array.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._array.size)

    nelement = numel

    def element_size(self) -> int:
        return self._array.itemsize

    @property
    def itemsize(self) -> int:
        return self._array.itemsize

    @property
    def nbytes(self) -> int:
        return self._array.nbytes

    def stride(self, dim: int | None = None) -> Any:
        """Steps between elements in elements (not bytes), per dim."""
        steps = tuple(s // self._array.itemsize for s in self._array.strides)
        return steps if dim is None else steps[self._dim(dim)]

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return bool(self._array.flags.c_contiguous)

    def data_ptr(self) -> int:
        return int(self._array.__array_interface__["data"][0])

    def is_floating_point(self) -> bool:
        return self._array.dtype.kind == "f"

    def is_complex(self) -> bool:
        return False

    def is_signed(self) -> bool:
        return self._array.dtype.kind in "fi"

    def get_device(self) -> int:
        return -1

    def _dim(self, dim: int) -> int:
        ndim = max(self._array.ndim, 1)
        if not -ndim <= dim < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
        return dim % ndim

    # ----- autograd state ---------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self._grad_fn is not None:
            if flag:
                return
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if flag and self._array.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, not {self.dtype}")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def grad_fn(self) -> Any:
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def grad(self) -> "Tensor | None":
        if self._grad_fn is not None and not self._retains_grad:
            import warnings
            warnings.warn("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                          "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                          "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
                          "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
                          "instead.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: {tuple(value.shape)} for a tensor "
                                   f"of shape {tuple(self.shape)}")
            if value._array.dtype != self._array.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: {value.dtype} for a tensor of "
                                   f"dtype {self.dtype}")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def _version(self) -> int:
        return self._version_counter.value

    def _bump_version(self) -> None:
        self._version_counter.value += 1

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep .grad on this non-leaf tensor after backward (a leaf keeps it anyway)."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if not self._retains_grad:
            self._retains_grad = True
            self._grad_fn._retain(self._output_nr, self)

    def register_hook(self, hook: Any) -> "_RemovableHandle":
        """hook(grad) -> None or a replacement grad, called when this tensor's gradient is computed."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            return _RemovableHandle(self._hooks, hook)
        return _RemovableHandle(self._grad_fn._tensor_hooks(self._output_nr), hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> "_RemovableHandle":
        """hook(tensor) -> None, called on this leaf after its .grad has been accumulated."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = self.__dict__.setdefault("_post_accumulate_hooks", [])
        return _RemovableHandle(hooks, hook)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's .grad by the chain rule (torch.Tensor.backward)."""
        from .autograd.engine import backward
        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    # ----- sharing memory ---------------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The same memory as a tensor outside autograd: its in-place changes are not recorded or checked."""
        return Tensor._wrap(self._array)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, got {type(value).__name__}")
        self._array = value._array

    def detach(self) -> "Tensor":
        """The same values and memory, cut from the graph (in-place changes still bump the shared version)."""
        out = Tensor._wrap(self._array)
        out._version_counter = self._version_counter
        return out

    def detach_(self) -> "Tensor":
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn, self._requires_grad = None, False
        return self

    def numpy(self, force: bool = False) -> Any:
        """The underlying array, shared (not copied), as torch's .numpy()."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return self._array

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._array.size != 1:
            raise RuntimeError(f"a Tensor with {self._array.size} elements cannot be converted to Scalar")
        return self._array.item()

    def tolist(self) -> Any:
        return self._array.tolist()

    def __float__(self) -> float:
        if self._array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self._array.item())

    def __int__(self) -> int:
        if self._array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self._array.item())

    def __index__(self) -> int:
        if self._array.dtype.kind not in "iub" or self._array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._array.item())

    def __len__(self) -> int:
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self._array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._array.shape[0]))

    def __contains__(self, element: Any) -> bool:
        return bool((self == element).any())

    __hash__ = object.__hash__

    def __format__(self, spec: str) -> str:
        if self._array.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self) -> str:
        from .printing import tensor_repr
        return tensor_repr(self)

    def __deepcopy__(self, memo: dict) -> "Tensor":
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.")
        new = object.__new__(type(self))
        memo[id(self)] = new
        new._init(self._array.copy(), False)
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = copy.deepcopy(self._grad, memo)
        for key, value in self.__dict__.items():
            if not key.startswith("_"):
                setattr(new, key, copy.deepcopy(value, memo))
        return new

    def __reduce_ex__(self, protocol: int) -> Any:
        return (_rebuild, (type(self), self._array, self._requires_grad))

    # ----- type and device ----------------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """to(dtype), to(device), to(device, dtype), to(other): a tensor of that dtype (self if unchanged)."""
        target = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy_ = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                target = arg.dtype
            elif isinstance(arg, (dtypes.dtype, dtypes.MissingDtype, type)) or _is_numpy_dtype(arg):
                target = arg
            elif isinstance(arg, bool):
                continue  # the positional non_blocking flag
            else:
                device = arg
        check_device(device)
        if target is None or as_dtype(target).dtype == self._array.dtype:
            return self.clone() if copy_ else self
        from .ops.elementwise import cast
        return cast(self, as_dtype(target))

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """No argument: the type name ('nnci.FloatTensor'); with a dtype or type name: cast to it."""
        if dtype is None:
            return f"nnci.{_TYPE_NAMES[self.dtype]}"
        if isinstance(dtype, str) and dtype.split(".")[-1] in _TYPE_BY_NAME:
            dtype = _TYPE_BY_NAME[dtype.split(".")[-1]]
        elif isinstance(dtype, type) and issubclass(dtype, _TypedTensor):
            dtype = dtype.dtype
        return self.to(dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def cpu(self, *args: Any, **kwargs: Any) -> "Tensor":
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> "Tensor":
        check_device("cuda")
        return self

    def float(self) -> "Tensor":
        return self.to(dtypes.float32)

    def double(self) -> "Tensor":
        return self.to(dtypes.float64)

    def half(self) -> "Tensor":
        return self.to(dtypes.float16)

    def long(self) -> "Tensor":
        return self.to(dtypes.int64)

    def int(self) -> "Tensor":
        return self.to(dtypes.int32)

    def short(self) -> "Tensor":
        return self.to(dtypes.int16)

    def char(self) -> "Tensor":
        return self.to(dtypes.int8)

    def byte(self) -> "Tensor":
        return self.to(dtypes.uint8)

    def bool(self) -> "Tensor":
        return self.to(dtypes.bool)

    def pin_memory(self) -> "Tensor":
        return self

    def share_memory_(self) -> "Tensor":
        return self


def _rebuild(cls: type, array: Any, requires_grad: bool) -> Tensor:
    tensor = object.__new__(cls)
    tensor._init(array, requires_grad)
    return tensor


def _is_numpy_dtype(value: Any) -> bool:
    return isinstance(value, xp.dtype) or (isinstance(value, type) and issubclass(value, xp.generic))


class _RemovableHandle:
    """What register_hook returns: .remove() takes the hook out again."""

    def __init__(self, hooks: list, hook: Any) -> None:
        self.hooks, self.hook = hooks, hook
        hooks.append(hook)

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)

    def __enter__(self) -> "_RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


# ----- torch.FloatTensor and friends: constructors of one dtype, and isinstance checks by dtype ---------
class _TypedTensorMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj._array.dtype == cls.dtype.dtype


class _TypedTensor(metaclass=_TypedTensorMeta):
    dtype: dtypes.dtype = dtypes.float32

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:  # type: ignore[misc]
        return Tensor(*args, dtype=cls.dtype, **kwargs)


def _typed(name: str, d: dtypes.dtype) -> type:
    return _TypedTensorMeta(name, (_TypedTensor,), {"dtype": d, "__doc__": f"A constructor of {d} tensors."})


FloatTensor = _typed("FloatTensor", dtypes.float32)
DoubleTensor = _typed("DoubleTensor", dtypes.float64)
HalfTensor = _typed("HalfTensor", dtypes.float16)
LongTensor = _typed("LongTensor", dtypes.int64)
IntTensor = _typed("IntTensor", dtypes.int32)
ShortTensor = _typed("ShortTensor", dtypes.int16)
CharTensor = _typed("CharTensor", dtypes.int8)
ByteTensor = _typed("ByteTensor", dtypes.uint8)
BoolTensor = _typed("BoolTensor", dtypes.bool)
_TYPE_NAMES = {t.dtype: t.__name__ for t in (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor,
                                              ShortTensor, CharTensor, ByteTensor, BoolTensor)}
_TYPE_BY_NAME = {name: d for d, name in _TYPE_NAMES.items()}
