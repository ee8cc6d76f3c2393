"""Train a segmenter from scratch: ``python -m guide train-segmenter``.

The guide needs a frozen, pretrained, imperfect network to guide. With no
segmentation weights downloadable, the project trains its own on the embedded
``scenes`` benchmark (or any dataset ``guide.data.get_dataset`` reads).

Seeded; resumable from ``--work-dir`` (safetensors only); runs unchanged under
``torchrun`` for multi-GPU DDP (each rank reads a disjoint slice of every batch).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from guide.core.guided import ModelConfig, default_device
from guide.core.labels import VOID
from guide.core.split import default_layer
from guide.models.architectures import ARCHITECTURES, build_segmenter
from guide.models.hub import save_model
from guide.training.state import agree_to_stop, cosine_lr, load_state, save_state, setup_distributed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m guide train-segmenter", description=__doc__.splitlines()[0])
    p.add_argument("--data", default="scenes", help="dataset name for guide.data.get_dataset (default: scenes)")
    p.add_argument("--root", default=None, help="dataset root folder (voc, cocostuff)")
    p.add_argument("--split", default="seg-train", help="training split (default: seg-train)")
    p.add_argument("--arch", default="lraspp_mobilenet_v3_large", choices=sorted(ARCHITECTURES))
    p.add_argument("--size", type=int, default=160, help="input size in pixels (default: 160)")
    p.add_argument("--out", required=True, help="model folder to write (config.json + model.safetensors)")
    p.add_argument("--work-dir", default=None, help="resumable training state (default: runs/<out name>)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=16, help="global batch size (split across DDP ranks)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from the work dir's last checkpoint")
    p.add_argument("--save-every", type=int, default=200)
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop (and save) at this step; --resume continues on the same --steps schedule")
    p.add_argument("--time-limit", type=float, default=None, help="stop (and save) after this many minutes")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p.parse_args(argv)


def _batch(dataset, indices: list[int], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images BxHxWx3 uint8 and labels BxHxW int64 (H = W = ``size``) for dataset indices;
    pairs of other sizes are scaled and padded (:func:`guide.data.fit_square`)."""
    from guide.data import fit_square

    pairs = [fit_square(*dataset[i % len(dataset)], size) for i in indices]
    images = torch.from_numpy(np.stack([p[0] for p in pairs]))
    labels = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64))
    return images, labels


def dataset_classes(dataset) -> tuple[list[str], list[list[int]]]:
    """Class names and palette of a dataset from guide.data."""
    from guide import data

    if hasattr(dataset, "classes"):
        return list(dataset.classes), [list(map(int, c)) for c in dataset.palette]
    return list(data.CLASSES), [list(map(int, c)) for c in data.PALETTE]


def train_segmenter(args: argparse.Namespace) -> Path:
    from guide import data

    get_dataset = getattr(data, "get_dataset", lambda name, split, root, size: data.SceneDataset(split, size))
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world, ddp_device = setup_distributed()
    device = ddp_device or default_device()
    torch.manual_seed(args.seed)
    dataset = get_dataset(args.data, args.split, root=args.root, size=args.size)
    classes, palette = dataset_classes(dataset)
    net = build_segmenter(args.arch, len(classes)).to(device)
    model: nn.Module = nn.parallel.DistributedDataParallel(net) if world > 1 else net
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    out = Path(args.out)
    work = Path(args.work_dir or Path("runs") / out.name)
    step, elapsed = 0, 0.0
    if args.resume and (work / "state.json").is_file():
        meta = load_state(work, net, opt, device)
        step, elapsed = int(meta["step"]), float(meta.get("seconds", 0.0))
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    per_rank = args.batch // world
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(dataset))  # same on every rank: ranks take disjoint slices
    start, losses = time.time(), []
    bar = tqdm(total=args.steps, initial=step, disable=rank != 0, desc="train-segmenter")
    model.train()
    while step < args.steps:
        lr = cosine_lr(args.lr, step, args.steps, elapsed + time.time() - start,
                       60 * args.time_limit if args.time_limit else None)
        for g in opt.param_groups:
            g["lr"] = lr
        first = step * args.batch + rank * per_rank
        images, labels = _batch(dataset, [int(order[(first + j) % len(order)]) for j in range(per_rank)], args.size)
        # Horizontal flips (they keep sky above ground), drawn from (seed, step) so a resumed
        # run flips exactly as an uninterrupted one would.
        if np.random.default_rng([args.seed, step]).random() < 0.5:
            images, labels = images.flip(2), labels.flip(2)
        x = (images.to(device).permute(0, 3, 1, 2).float() / 255 - mean) / std
        logits = model(x)["out"]
        loss = F.cross_entropy(logits, labels.to(device), ignore_index=VOID)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", lr=f"{lr:.2e}")
        stop_early = agree_to_stop(
            (args.time_limit is not None and elapsed + time.time() - start > 60 * args.time_limit)
            or (args.stop_at is not None and step >= args.stop_at), device)
        if rank == 0 and (step % args.save_every == 0 or step == args.steps or stop_early):
            save_state(work, net, opt, {"step": step, "seconds": elapsed + time.time() - start})
        if stop_early:
            break
    bar.close()
    if rank == 0:
        config = ModelConfig(
            arch=args.arch,
            classes=list(classes),
            palette=[list(map(int, c)) for c in palette],
            input_size=args.size,
            split_layer=default_layer(net),
            name=out.name,
        )
        from guide.core.split import SplitSegmenter

        _, h, w = SplitSegmenter(net.eval()).feature_shape((args.size, args.size))
        config.guide = {"variant": "guide", "alpha_size": h, "beta_size": w}
        save_model(out, config, net)
        (work / "train_log.json").write_text(
            json.dumps({"steps": step, "minutes": (elapsed + time.time() - start) / 60, "final_loss": float(np.mean(losses[-50:]))})
        )
        print(f"saved {out} after {step} steps ({(time.time() - start) / 60:.1f} min this run)")
    if world > 1:
        dist.destroy_process_group()
    return out


def main(argv: list[str] | None = None) -> None:
    train_segmenter(parse_args(argv))
