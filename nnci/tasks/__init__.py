"""Applications: data + model + loss + metric, each runnable as `nnci <task> train|eval|run`."""
from . import anomaly, approximate, classify, denoise, segment, synthesize

TASKS = {module.NAME: module for module in (denoise, classify, synthesize, approximate, anomaly, segment)}
