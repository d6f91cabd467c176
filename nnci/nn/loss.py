"""Loss modules, each a thin wrapper of its functional form."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module


class MSELoss(Module):
    """mean (x - y)^2"""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(MSELoss):
    """mean |x - y|"""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class CrossEntropyLoss(Module):
    """-sum_c q_c log softmax(x)_c on logits, q the (smoothed) one-hot target"""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.class_weight, self.ignore_index = weight, ignore_index
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.class_weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(Module):
    """-w[y] log p[y] from log-probabilities"""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__()
        self.class_weight, self.ignore_index, self.reduction = weight, ignore_index, reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.class_weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(Module):
    """-[p y log s(x) + (1 - y) log(1 - s(x))] on logits"""

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__()
        self.element_weight, self.reduction, self.pos_weight = weight, reduction, pos_weight

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.element_weight, self.reduction,
                                                  self.pos_weight)


class KLNormalLoss(Module):
    """KL(N(mu, e^logvar) || N(0, I)), the VAE's prior term"""

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, mu: Tensor, logvar: Tensor) -> Tensor:
        return F.kl_normal(mu, logvar, self.reduction)
