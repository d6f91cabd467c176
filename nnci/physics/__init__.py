"""Image formation, kept apart from the networks that invert it: forward operators with their adjoints
(operators.py), noise models (noise.py), raw capture and the classical camera pipeline (raw.py), point
spread functions (psf.py), and the HDR sensor (hdr.py)."""
from .hdr import (hdr_scene, inverse_tone_map, inverse_tone_map_tensor, sensor, sqrt_linear_loss, sqrt_linear_psnr,
                  tone_map)
from .noise import GaussianNoise, PoissonGaussianNoise, estimate_sigma
from .operators import BayerMosaic, Blur, Denoising, LinearPhysics, Physics, dot_product_test
from .psf import DiffractivePSF, FixedPSF, HeightMapDOE, IdealLens, LearnablePSF
from .raw import (RawCamera, capture, classical_isp, demosaic_bilinear, inverse_tone_curve, mosaic, normalise, pack,
                  unprocess)

__all__ = ["Physics", "LinearPhysics", "Denoising", "Blur", "BayerMosaic", "dot_product_test", "GaussianNoise",
           "PoissonGaussianNoise", "estimate_sigma", "RawCamera", "unprocess", "mosaic", "capture", "normalise", "pack",
           "demosaic_bilinear", "classical_isp", "inverse_tone_curve", "IdealLens", "LearnablePSF", "DiffractivePSF",
           "hdr_scene", "sensor", "tone_map", "inverse_tone_map", "inverse_tone_map_tensor", "sqrt_linear_loss",
           "sqrt_linear_psnr", "FixedPSF", "HeightMapDOE"]
