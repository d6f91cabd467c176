"""Applications: data + model + loss + metric, each runnable as `nnci <task> train|eval|run`."""
from . import approximate, classify, denoise, synthesize

TASKS = {module.NAME: module for module in (denoise, classify, synthesize, approximate)}
