"""torch.nn.modules' paths (torch.nn.modules.loss._Loss, torch.nn.modules.batchnorm._BatchNorm, ...), each the
nnci.nn module that holds those layers."""
import sys as _sys

from .. import (activation, container, conv, dropout, fold, linear, loss, module, normalization, padding, pooling,
                rnn, sparse, transformer, upsampling)
from .. import *  # noqa: F401,F403  (torch.nn.modules exports every layer)
from ..module import Module  # noqa: F401

_PATHS = {"activation": activation, "batchnorm": normalization, "channelshuffle": upsampling, "container": container,
          "conv": conv, "dropout": dropout, "flatten": container, "fold": fold, "instancenorm": normalization,
          "linear": linear, "loss": loss, "module": module, "normalization": normalization, "padding": padding,
          "pixelshuffle": upsampling, "pooling": pooling, "rnn": rnn, "sparse": sparse, "transformer": transformer,
          "upsampling": upsampling}
for _name, _module in _PATHS.items():
    _sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module
