"""Applications: data + model + loss + metric, each runnable as `nnci <task> train|eval|run`."""
from . import anomaly, approximate, classify, denoise, hdr, isp, segment, synthesize

TASKS = {module.NAME: module for module in (denoise, classify, synthesize, approximate, anomaly, segment, isp, hdr)}
