"""Module and Parameter: the torch.nn contract (registration on assignment, hooks, state_dict, train/eval)."""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterator

from ..autograd.graph import Op
from ..autograd.grad_mode import no_grad
from ..backend import xp
from ..device import check_device, device as Device
from ..dtypes import as_dtype, get_default_dtype
from ..tensor import Tensor, to_array

class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict did not match: missing_keys (in the module, not the dict) and unexpected_keys."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys


class Parameter(Tensor):
    """A tensor that a Module registers as learnable (requires grad by default); shares data's memory."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = xp.zeros(0, get_default_dtype().dtype)
        elif isinstance(data, Tensor):
            array = data._array
        else:
            array = to_array(data)
        self._init(array, False)
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _Handle:
    """What register_*_hook returns: .remove() takes the hook out again."""

    def __init__(self, table: dict, key: int) -> None:
        self.table, self.key = table, key

    def remove(self) -> None:
        self.table.pop(self.key, None)

    def __enter__(self) -> "_Handle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


_next_hook_id = [0]


def _hook_id() -> int:
    _next_hook_id[0] += 1
    return _next_hook_id[0]


class Module:
    """Base class of every layer and model: forward computes, state_dict saves, train/eval switch."""

    training: bool
    call_super_init = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments {args or ''} {kwargs or ''}")
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", set())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())

    # ----- registration -------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name} before Module.__init__() call "
                                 f"({type(self).__name__}.__init__ must call super().__init__() first)")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name, keep=params)
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nnci.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(nnci.nn.Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (nnci.Tensor or None "
                                "expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: dict | None = None) -> None:
        """Remove name from every table but `keep` (where a reassignment keeps its place, as in torch)."""
        self.__dict__.pop(name, None)
        for table in (self._parameters, self._buffers, self._modules):
            if table is not keep:
                table.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` under `name`; None keeps the name (as a bias=False layer does)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"parameter name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' (nnci.nn.Parameter "
                            "or None required)")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is saved in state_dict (unless persistent=False) but not learned."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"buffer name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (nnci Tensor or None "
                            "required)")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        module = self
        for part in target.split(".") if target else ():
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}`")
            module = module._modules[part]
        return module

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    # ----- calling and hooks -------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        state = None
        if self._backward_hooks or self._backward_pre_hooks:
            state = _BackwardHookState(self)
            args = state.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for key, hook in list(self._forward_hooks.items()):
            result = hook(self, args, kwargs, output) if key in self._forward_hooks_with_kwargs else hook(self, args,
                                                                                                           output)
            if result is not None:
                output = result
        if state is not None:
            output = state.wrap_outputs(output)
        return output

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False) -> _Handle:
        """hook(module, args) -> None or new args, before forward (with_kwargs: hook(module, args, kwargs))."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend,
                              self._forward_pre_hooks_with_kwargs if with_kwargs else None)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> _Handle:
        """hook(module, args, output) -> None or a new output, after forward."""
        return self._add_hook(self._forward_hooks, hook, prepend,
                              self._forward_hooks_with_kwargs if with_kwargs else None)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> _Handle:
        """hook(module, grad_input, grad_output) -> None or new grad_input, once the inputs' gradients are known."""
        return self._add_hook(self._backward_hooks, hook, prepend, None)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> _Handle:
        """hook(module, grad_output) -> None or new grad_output, before the module's backward."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend, None)

    def register_backward_hook(self, hook: Callable) -> _Handle:
        return self.register_full_backward_hook(hook)

    @staticmethod
    def _add_hook(table: dict, hook: Callable, prepend: bool, kwargs_set: set | None) -> _Handle:
        key = _hook_id()
        table[key] = hook
        if prepend:
            table.move_to_end(key, last=False)
        if kwargs_set is not None:
            kwargs_set.add(key)
        return _Handle(table, key)

    # ----- traversal -------------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
                      ) -> Iterator[tuple[str, "Module"]]:
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator["Module"]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool) -> Iterator:
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ----- modes, gradients, types --------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.detach_()
                param.grad.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """fn(module) for every submodule, children before their parent (as torch)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, convert: Callable[[Tensor], Any]) -> "Module":
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                for key, tensor in table.items():
                    if tensor is None:
                        continue
                    array = convert(tensor)
                    if array is tensor._array:
                        continue
                    tensor.data = Tensor._wrap(array)
                    if tensor.grad is not None:
                        tensor._grad = Tensor._wrap(convert(tensor.grad))
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """to(dtype), to(device), to(device, dtype), to(tensor): cast floating parameters and buffers in place."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, bool):
                continue  # the positional non_blocking flag
            elif isinstance(arg, (str, int, Device)):
                device = arg
            else:
                dtype = arg
        check_device(device)
        if dtype is not None:
            target = as_dtype(dtype)
            if not target.is_floating_point:
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={target}")
            self._apply_to_tensors(lambda t: t._array.astype(target.dtype) if t._array.dtype.kind == "f" else t._array)
        return self

    def cpu(self) -> "Module":
        return self

    def cuda(self, device: Any = None) -> "Module":
        check_device("cuda")
        return self

    def type(self, dst_type: Any) -> "Module":
        target = as_dtype(dst_type)
        return self._apply_to_tensors(lambda t: t._array.astype(target.dtype))

    def float(self) -> "Module":
        return self.to(as_dtype("float32"))

    def double(self) -> "Module":
        return self.to(as_dtype("float64"))

    def half(self) -> "Module":
        return self.to(as_dtype("float16"))

    def share_memory(self) -> "Module":
        return self

    def num_parameters(self) -> int:
        """How many learnable numbers the module holds (nnci's shorthand for sum(p.numel() for p in parameters()))."""
        return sum(p.numel() for p in self.parameters())

    # ----- state -----------------------------------------------------------------------------------
    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by dotted name, in torch's order (own, then children), detached
        (sharing memory) unless keep_vars."""
        if args:  # the old positional (destination, prefix, keep_vars)
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        state = OrderedDict() if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                state[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                state[prefix + name] = buf if keep_vars else buf.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=state, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
        return state

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy values in by name (into the existing tensors); with strict, a missing or unexpected key is an error,
        a shape mismatch always is."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in own]
        errors = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            source = state_dict[key]
            shape = tuple(source.shape) if hasattr(source, "shape") else xp.shape(source)
            if shape != tuple(target.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape {list(shape)} from checkpoint, the "
                              f"shape in current model is {list(target.shape)}.")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for key, target in own.items():
                if key not in state_dict:
                    continue
                source = state_dict[key]
                array = source._array if isinstance(source, Tensor) else to_array(source)
                if assign:
                    target.data = Tensor._wrap(xp.array(array, copy=True))
                else:
                    xp.copyto(target._array, array, casting="unsafe")
                    target._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ----- printing ------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, module in self._modules.items():
            text = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        if not lines:
            return f"{self._get_name()}()"
        if len(lines) == 1 and not self._modules:
            return f"{self._get_name()}({lines[0]})"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


# ----- full backward hooks: identity ops around a module's inputs and outputs ---------------------------
class _HookIdentity(Op):
    """y = x;  dx = g, after telling the module's backward-hook state about g"""
    saved_inputs = ()

    def forward(self, x, state, position, side):
        self.state, self.position, self.side = state, position, side
        return x.view()

    def backward(self, g):
        return (self.state.arrived(self.side, self.position, g),)


class _BackwardHookState:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.inputs: list = []
        self.grad_inputs: dict[int, Any] = {}
        self.grad_outputs: tuple | None = None
        self.output_count = 0
        self.received_outputs: dict[int, Any] = {}

    def wrap_inputs(self, args: tuple) -> tuple:
        wrapped = []
        for arg in args:
            if isinstance(arg, Tensor) and arg.requires_grad:
                self.inputs.append(len(wrapped))
                arg = _HookIdentity.apply(arg, state=self, position=len(self.inputs) - 1, side="input")
            wrapped.append(arg)
        return tuple(wrapped)

    def wrap_outputs(self, output: Any) -> Any:
        items = output if isinstance(output, tuple) else (output,)
        wrapped = []
        for item in items:
            if isinstance(item, Tensor) and item.requires_grad:
                item = _HookIdentity.apply(item, state=self, position=self.output_count, side="output")
                self.output_count += 1
            wrapped.append(item)
        return tuple(wrapped) if isinstance(output, tuple) else wrapped[0]

    def arrived(self, side: str, position: int, grad: Any) -> Any:
        wrap = Tensor._wrap
        if side == "output":
            self.received_outputs[position] = grad
            if len(self.received_outputs) < self.output_count:
                return grad
            grads = tuple(wrap(self.received_outputs[i]) for i in range(self.output_count))
            for hook in self.module._backward_pre_hooks.values():
                result = hook(self.module, grads)
                if result is not None:
                    grads = tuple(result)
            self.grad_outputs = grads
            if not self.inputs:
                for hook in self.module._backward_hooks.values():
                    hook(self.module, (None,), grads)
            return grads[position]._array
        self.grad_inputs[position] = grad
        if len(self.grad_inputs) < len(self.inputs):
            return grad
        grads = tuple(wrap(self.grad_inputs[i]) for i in range(len(self.inputs)))
        for hook in self.module._backward_hooks.values():
            result = hook(self.module, grads, self.grad_outputs or ())
            if result is not None:
                grads = tuple(result)
        return grads[position]._array
