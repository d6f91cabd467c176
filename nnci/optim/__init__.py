"""Optimizers and learning-rate schedules with torch.optim's names, arguments and updates."""
from . import lr_scheduler
from .adam import Adam, Adamax, AdamW, NAdam, RAdam
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import Adadelta, Adagrad, RMSprop, Rprop
from .sgd import ASGD, SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta",
           "Rprop", "LBFGS", "ASGD", "lr_scheduler"]


def __getattr__(name: str) -> object:
    raise AttributeError(f"module 'nnci.optim' has no attribute '{name}': nnci does not implement torch.optim.{name}")
