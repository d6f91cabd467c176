"""torch.utils.tensorboard.SummaryWriter's logging calls, written as JSON lines (one record per call, in
log_dir/events.jsonl), not TensorBoard's protobuf event files: read them with any JSON reader."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


def _number(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


class SummaryWriter:
    """add_scalar / add_scalars / add_histogram (its summary statistics) / add_text, appended to events.jsonl."""

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "", purge_step: Any = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        if log_dir is None:
            log_dir = Path("runs") / (time.strftime("%b%d_%H-%M-%S") + "_" + os.uname().nodename + comment)
        self.log_dir = str(log_dir)
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        self._file = open(Path(self.log_dir) / f"events{filename_suffix}.jsonl", "a", encoding="utf-8")

    def get_logdir(self) -> str:
        return self.log_dir

    def _write(self, record: dict) -> None:
        record.setdefault("wall_time", time.time())
        self._file.write(json.dumps(record) + "\n")

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None, walltime: float | None = None,
                   **kwargs: Any) -> None:
        self._write({"kind": "scalar", "tag": tag, "value": _number(scalar_value), "step": global_step,
                     **({"wall_time": walltime} if walltime is not None else {})})

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        for tag, value in tag_scalar_dict.items():
            self.add_scalar(f"{main_tag}/{tag}", value, global_step, walltime)

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None, bins: Any = "tensorflow",
                      walltime: float | None = None, **kwargs: Any) -> None:
        import numpy as np
        array = np.asarray(values.detach().numpy() if hasattr(values, "detach") else values, dtype=np.float64)
        self._write({"kind": "histogram", "tag": tag, "step": global_step, "min": float(array.min()),
                     "max": float(array.max()), "mean": float(array.mean()), "std": float(array.std()),
                     "count": int(array.size)})

    def add_text(self, tag: str, text_string: str, global_step: int | None = None, walltime: float | None = None) -> None:
        self._write({"kind": "text", "tag": tag, "text": text_string, "step": global_step})

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, **kwargs: Any) -> None:
        self._write({"kind": "hparams", "hparams": {k: str(v) for k, v in hparam_dict.items()},
                     "metrics": {k: _number(v) for k, v in metric_dict.items()}})

    def add_graph(self, model: Any, input_to_model: Any = None, **kwargs: Any) -> None:
        self._write({"kind": "graph", "model": repr(model)})

    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None, **kwargs: Any) -> None:
        self._write({"kind": "image", "tag": tag, "step": global_step, "shape": list(getattr(img_tensor, "shape", ()))})

    add_images = add_figure = add_image

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
