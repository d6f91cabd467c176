"""Applications: data + model + loss + metric, each runnable as `nnci <task> train|eval|run`."""
from . import approximate, classify, synthesize

TASKS = {module.NAME: module for module in (classify, synthesize, approximate)}
