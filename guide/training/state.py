"""What both trainers share: DDP setup under ``torchrun``, the learning-rate schedule, one
stop decision for all ranks, and resumable training state.

Training state is a model's ``state_dict`` plus the optimizer's moments in one
``state.safetensors`` (never pickle) and a small ``state.json`` (step, seconds,
configuration). Both are written to a temporary name first and renamed, so a run
killed mid-save keeps its previous state.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn


def setup_distributed() -> tuple[int, int, torch.device | None]:
    """(rank, world size, this rank's device) under ``torchrun``; (0, 1, None) otherwise.

    None leaves the device choice to the caller (CUDA when present, else CPU).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, None
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return dist.get_rank(), world, torch.device("cuda", local)
    return dist.get_rank(), world, torch.device("cpu")


def cosine_lr(base: float, step: int, steps: int, elapsed_s: float, limit_s: float | None) -> float:
    """Cosine decay from ``base`` to 0 over the step budget, or over the time limit when that
    comes first, so a time-limited run still ends with a small learning rate."""
    progress = step / steps
    if limit_s:
        progress = max(progress, elapsed_s / limit_s)
    return base * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def agree_to_stop(stop: bool, device: torch.device) -> bool:
    """True when any rank wants to stop (time limit, ``--stop-at``); ``stop`` itself without DDP.

    Every rank must leave the loop at the same step: a rank that stops alone leaves the
    others waiting forever in their next gradient all-reduce. Ranks measure time on their
    own clocks, so a time limit can trip on one rank a step before the rest.
    ``device`` is where the process group reduces (the rank's CUDA device under NCCL).
    """
    if not (dist.is_available() and dist.is_initialized()):
        return stop
    flag = torch.tensor([float(stop)], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def save_state(work: Path, net: nn.Module, opt: torch.optim.Optimizer, meta: dict[str, Any]) -> None:
    """Write ``net`` and ``opt`` to ``work/state.safetensors`` and ``meta`` to ``work/state.json``."""
    work.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    for i, p in enumerate(p for g in opt.param_groups for p in g["params"]):
        for k, v in opt.state.get(p, {}).items():
            if torch.is_tensor(v):
                # safetensors cannot hold 0-d tensors: store scalars (Adam's step) as length 1
                tensors[f"opt.{i}.{k}"] = (v.reshape(-1) if v.ndim == 0 else v).detach().cpu().contiguous()
    save_file(tensors, str(work / "state.tmp.safetensors"))
    os.replace(work / "state.tmp.safetensors", work / "state.safetensors")
    (work / "state.tmp.json").write_text(json.dumps(meta, indent=2))
    os.replace(work / "state.tmp.json", work / "state.json")


def load_state(work: Path, net: nn.Module, opt: torch.optim.Optimizer, device: torch.device) -> dict[str, Any]:
    """Restore ``net`` and ``opt`` from :func:`save_state`; returns the JSON meta."""
    tensors = load_file(str(work / "state.safetensors"))
    net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    for i, p in enumerate(p for g in opt.param_groups for p in g["params"]):
        state = {k.split(".", 2)[2]: v.to(device) for k, v in tensors.items() if k.startswith(f"opt.{i}.")}
        if state:
            if "step" in state:
                state["step"] = state["step"].reshape(()).cpu()  # Adam(W) keeps step as a CPU scalar
            opt.state[p] = state
    return json.loads((work / "state.json").read_text())
