"""The course's standard architectures, with torch-compatible state-dict keys."""
from .autoencoder import ConvAutoencoder
from .dncnn import DnCNN, deepen
from .ffdnet import FFDNet
from .sid import SIDNet
from .resnet import BasicBlock, Bottleneck, ResNet, ZeroPadShortcut
from .unet import UNet
from .vae import VAE
from .vgg import CONFIGS as VGG_CONFIGS
from .vgg import VGG

__all__ = ["DnCNN", "deepen", "FFDNet", "VGG", "VGG_CONFIGS", "ResNet", "BasicBlock", "Bottleneck", "ZeroPadShortcut",
           "ConvAutoencoder", "VAE", "UNet", "SIDNet"]
