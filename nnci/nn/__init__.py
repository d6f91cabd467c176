"""Layers, containers and losses with torch.nn's names, shapes and state-dict keys."""
from . import functional, init, utils
from .activation import ELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .container import Flatten, Identity, ModuleDict, ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .linear import Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, KLNormalLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .upsampling import PixelShuffle, PixelUnshuffle, Upsample

__all__ = [
    "functional", "init", "utils", "Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Identity",
    "Flatten", "Linear", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Upsample", "PixelShuffle",
    "PixelUnshuffle", "BatchNorm1d", "BatchNorm2d", "Dropout", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU",
    "Softplus", "Softmax", "LogSoftmax", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss",
    "KLNormalLoss",
]
