"""Train a text guide for a frozen segmenter: ``python -m guide train-guide`` (paper §3.3).

For every sample: the frozen head gives the split layer's features, the frozen network
its initial prediction, the simulated user (:func:`guide.text.generator.generate_hint`) a
hint comparing that prediction with the ground truth; the hint's words go through the
GRU to guiding parameters, the guided features through the frozen tail, and the
per-pixel cross-entropy is re-weighted as in the paper:

* 1   on pixels of the class the hint names (for ``remove`` hints also the pixels wrongly
      predicted as that class: those are what "remove the X" asks to change);
* 0   on the other wrongly predicted pixels (they must not be tied to this hint);
* 0.5 on initially correct pixels (do not corrupt them); void (255) is ignored.

Speed: the segmenter is frozen, so head features, initial predictions and labels of
the ``guide-train`` scenes are computed once (``--scenes`` of them, kept as float16
in memory) and each step runs only GRU + guiding block + tail. The loss is computed at
``--loss-size`` (default half the input side): the tail's last op is a bilinear
upsampling, so a coarser target grid costs little accuracy and halves the step time.

Real data sets (``--data voc --root DIR``: Pascal VOC, or a folder the app annotated, any
image sizes): each image becomes one ``input_size`` square at the scale the network sees it at
use (:func:`guide.data.crop_to_input`: torchvision's models put the shorter side at 520 px,
so a 520 x 520 window of it); the features are cached within ``--cache-mb`` and recomputed
per step above it. guide/training/teach.py runs :func:`train_guide` in the app's background
(:class:`Hooks`: progress and cancel) on the live model.

Seeded and resumable (``--resume``; weights and Adam moments in safetensors, the step
in JSON); runs under ``torchrun`` (each rank caches and samples its own shard of the
scenes and DDP averages the gradients). Writes ``--out`` as a complete model folder
(guide/models/hub.py format) with ``text_guide.safetensors`` and the ``text_guide`` entry of
``config.json``, a model card (``README.md``: source model, data set, image count, command,
val numbers) and ``train_log.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from guide.core.hints import OPS_CHOICES, REMOVE, TextHint
from guide.core.labels import VOID
from guide.core.split import Features, SplitSegmenter
from guide.text.encoder import TextGuide, encode_texts
from guide.text.generator import find_candidates, generate_hint
from guide.text.templates import BOOKS
from guide.training.state import agree_to_stop, cosine_lr, load_state, save_state, setup_distributed

#: The training split when --split is not given; a data set without it trains on FALLBACK_SPLIT
#: (:func:`open_training_split`): the app's data sets (guide/annotation/dataset.py) and Pascal VOC
#: list train / val / trainval.
DEFAULT_SPLIT = "guide-train"
FALLBACK_SPLIT = "train"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m guide train-guide", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None,
                   help="model folder, checkpoints/ name or Hub owner/name@rev (default: the embedded model)")
    p.add_argument("--layer", default=None,
                   help="split layer to guide (default: the model's split_layer; paper aliases res4a...)")
    p.add_argument("--ops", default="find", choices=sorted(OPS_CHOICES), help="hint operations to train with")
    p.add_argument("--out", required=True, help="model folder to write (the model + text_guide.safetensors)")
    p.add_argument("--work-dir", default=None, help="resumable training state (default: runs/<out name>-text)")
    p.add_argument("--data", default="scenes", help="dataset name for guide.data (default: scenes)")
    p.add_argument("--root", default=None, help="dataset root folder, for data sets read from disk")
    p.add_argument("--split", default=None,
                   help=f"training split (default: {DEFAULT_SPLIT}; a data set without one, such as a folder the app "
                        "wrote or Pascal VOC, trains on its train split, saying so)")
    p.add_argument("--scenes", type=int, default=3000, help="training scenes whose features are cached (default: 3000)")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=32, help="global batch size (split across DDP ranks)")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--hidden", type=int, default=1024, help="GRU hidden units (paper: 1024)")
    p.add_argument("--variant", default="guide", choices=["guide", "film"])
    p.add_argument("--residual", action="store_true", help="guide inside a 256-channel residual block")
    p.add_argument("--loss-size", type=int, default=None, help="side of the loss grid (default: input size / 2)")
    p.add_argument("--drop-place", type=float, default=0.0,
                   help="fraction of training hints without their place phrase (default 0: the paper's hints)")
    p.add_argument("--phrasings", default="templates", choices=sorted(BOOKS),
                   help="the simulated user's words: guide/text/templates.py TRAINING (templates) or the "
                        "first guides' 7+7 templates (paper)")
    p.add_argument("--init", default=None, help="start from this model folder's text guide (fine-tuning)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from the work dir's last checkpoint")
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop (and save) at this step; --resume continues on the same --steps schedule")
    p.add_argument("--time-limit", type=float, default=None, help="stop (and save) after this many minutes in all")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is fastest on a busy 2-core CPU)")
    p.add_argument("--val", type=int, default=100, help="val scenes for the final one-hint check (0: skip)")
    p.add_argument("--cache-mb", type=float, default=2048,
                   help="memory for cached head features (default 2048); above it each step recomputes its "
                        "scenes' features (slower, bounded memory)")
    return p.parse_args(argv)


# ---------------------------------------------------------------- loss


def hint_weights(hint: TextHint, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """HxW float32 loss weights for one hint (paper §3.3; see the module docstring).

    ``pred``: HxW initial prediction, ``gt``: HxW ground truth (255 void).
    """
    valid = gt != VOID
    weights = np.where(valid & (pred == gt), 0.5, 0.0).astype(np.float32)
    hinted = gt == hint.label
    if hint.op == REMOVE:
        hinted |= valid & (pred == hint.label)
    weights[hinted & valid] = 1.0
    return weights


def subsample(a: np.ndarray | Tensor, size: int) -> Any:
    """Nearest subsampling of the last two axes (HxW) to size x size (a no-op at full size).

    Takes the pixel nearest to each coarse pixel's centre, matching the bilinear
    (align_corners=False) resize the tail applies to the logits.
    """
    h, w = a.shape[-2], a.shape[-1]
    if (h, w) == (size, size):
        return a
    ys = ((np.arange(size) + 0.5) * h / size).astype(int)
    xs = ((np.arange(size) + 0.5) * w / size).astype(int)
    return a[..., ys[:, None], xs[None, :]]


def guided_loss(
    step_module: nn.Module,
    segmenter: SplitSegmenter,
    features: Features,
    embeddings: Tensor,
    lengths: Tensor,
    labels: Tensor,
    weights: Tensor,
) -> Tensor:
    """Weighted cross-entropy of the guided prediction.

    features: guided BxCxhxw (+ skips, input_size = loss grid), embeddings BxTx50,
    lengths B, labels BxSxS int64 (255 void), weights BxSxS float (0 where void).
    ``step_module(guided, embeddings, lengths)`` returns the guided BxCxhxw features.
    """
    guided = step_module(features.guided, embeddings, lengths)
    logits = segmenter.tail(features, guided)
    # Void pixels have weight 0; give them a valid index so cross_entropy accepts them.
    ce = F.cross_entropy(logits, labels.masked_fill(labels == VOID, 0), reduction="none")
    return (ce * weights).sum() / weights.sum().clamp(min=1.0)


class GuideStep(nn.Module):
    """``forward(guided BxCxhxw, embeddings BxTx50, lengths B) -> guided BxCxhxw``.

    Why a wrapper: DDP synchronises the gradients of the module it wraps, and its
    forward must cover both the GRU and the (possibly trainable) residual block.
    """

    def __init__(self, text_guide: TextGuide) -> None:
        super().__init__()
        self.text_guide = text_guide

    def forward(self, guided: Tensor, embeddings: Tensor, lengths: Tensor) -> Tensor:
        return self.text_guide.guide(guided, embeddings, lengths)


# ---------------------------------------------------------------- cached features


@dataclass
class FeatureCache:
    """Frozen-network outputs for N scenes.

    guided: NxCxhxw float16; skips: name -> Nx... float16; preds, labels: NxHxW uint8
    (initial prediction, ground truth with 255 void); scene: N dataset indices.
    When the features of all N would not fit the memory budget (``--cache-mb``), ``guided``
    is None and ``recompute(scene indices)`` runs the frozen head for each step's scenes.
    """

    guided: Tensor | None
    skips: dict[str, Tensor]
    preds: np.ndarray
    labels: np.ndarray
    scene: np.ndarray
    recompute: Callable[[Sequence[int]], Features] | None = None

    def __len__(self) -> int:
        return len(self.scene)

    def keep(self, mask: np.ndarray) -> FeatureCache:
        idx = torch.from_numpy(np.flatnonzero(mask))
        return FeatureCache(
            None if self.guided is None else self.guided[idx], {k: v[idx] for k, v in self.skips.items()},
            self.preds[mask], self.labels[mask], self.scene[mask], self.recompute,
        )

    def features(self, rows: Sequence[int], input_size: tuple[int, int], device: torch.device) -> Features:
        if self.guided is None:
            assert self.recompute is not None
            f = self.recompute([int(self.scene[r]) for r in rows])
            return Features(guided=f.guided.to(device).float(), skips={k: v.to(device).float() for k, v in f.skips.items()},
                            input_size=input_size)
        idx = torch.as_tensor(list(rows), dtype=torch.int64)
        return Features(
            guided=self.guided[idx].to(device).float(),
            skips={k: v[idx].to(device).float() for k, v in self.skips.items()},
            input_size=input_size,
        )


@torch.inference_mode()
def build_cache(
    segmenter: SplitSegmenter,
    normalize: Any,
    dataset: Any,
    scenes: Sequence[int],
    batch: int = 32,
    progress: bool = True,
    size: int | None = None,
    view: Callable[[int, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    keep_features: bool = True,
    on_batch: Callable[[int, int], None] | None = None,
) -> FeatureCache:
    """Run the frozen head (and tail, for the initial prediction) once over ``scenes``.

    ``normalize`` maps a BxHxWx3 uint8 tensor to the network's Bx3xHxW input. With ``size``,
    pairs of other sizes (VOC, an annotated folder) are scaled and padded to ``size`` x ``size``
    (:func:`guide.data.fit_square`, VOID padding) so they batch; ``view(scene index, image,
    label)`` instead makes each pair a training input (:func:`guide.data.crop_to_input`).
    Without ``keep_features`` only predictions and labels are kept (the features are then
    recomputed per step). ``on_batch(done, total)`` reports progress.
    """
    from guide.data import fit_square

    guided: list[Tensor] = []
    skips: dict[str, list[Tensor]] = {}
    preds: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    if on_batch is not None:
        on_batch(0, len(scenes))
    for start in tqdm(range(0, len(scenes), batch), desc="cache head features", disable=not progress):
        chunk = [int(i) for i in scenes[start : start + batch]]
        pairs = [dataset[i] for i in chunk]
        if view is not None:
            pairs = [view(i, image, label) for i, (image, label) in zip(chunk, pairs, strict=True)]
        elif size is not None:
            pairs = [fit_square(image, label, size) for image, label in pairs]
        x = normalize(torch.from_numpy(np.stack([p[0] for p in pairs])))
        feats = segmenter.head(x)
        preds.append(segmenter.tail(feats).argmax(1).to(torch.uint8).cpu().numpy())
        labels.append(np.stack([p[1] for p in pairs]).astype(np.uint8))
        if keep_features:
            guided.append(feats.guided.to(torch.float16).cpu())
            for k, v in feats.skips.items():
                skips.setdefault(k, []).append(v.to(torch.float16).cpu())
        if on_batch is not None:
            on_batch(start + len(chunk), len(scenes))
    return FeatureCache(
        torch.cat(guided) if keep_features else None, {k: torch.cat(v) for k, v in skips.items()},
        np.concatenate(preds), np.concatenate(labels), np.asarray(scenes, dtype=np.int64),
    )


def has_hint(pred: np.ndarray, gt: np.ndarray, ops: Sequence[str], num_classes: int) -> bool:
    """Whether the simulated user has anything to say about this prediction."""
    return bool(find_candidates(pred, gt, ops, num_classes=num_classes))


# ---------------------------------------------------------------- training


class TextCache:
    """Word vectors of recently seen hint texts (generated hints repeat a lot)."""

    def __init__(self, vectors: Any) -> None:
        self.vectors = vectors
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], device: torch.device) -> tuple[Tensor, Tensor]:
        """BxTx50 zero-padded embeddings and B lengths."""
        rows = []
        for t in texts:
            if t not in self._cache:
                emb, lengths, _ = encode_texts([t], self.vectors)
                self._cache[t] = emb[0, : int(lengths[0])].numpy()
            rows.append(self._cache[t])
        lengths = [len(r) for r in rows]
        out = np.zeros((len(rows), max(1, max(lengths)), int(self.vectors.vector_size)), dtype=np.float32)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        return torch.from_numpy(out).to(device), torch.tensor(lengths, dtype=torch.int64)


# ---------------------------------------------------------------- one run, in pieces


def initial_text_guide(args: argparse.Namespace, model: Any) -> tuple[SplitSegmenter, TextGuide]:
    """The frozen segmenter split at ``--layer`` and a fresh text guide for it (or ``--init``'s).

    Seeds torch first, so the guide's initial weights depend only on ``--seed``.
    """
    segmenter = model.segmenter
    if args.layer and args.layer != segmenter.layer:
        segmenter = SplitSegmenter(model.segmenter.model, args.layer).to(model.device)
    size = int(model.config.input_size)
    channels, fh, fw = segmenter.feature_shape((size, size))
    torch.manual_seed(args.seed)
    text_guide = TextGuide(channels, fh, fw, hidden=args.hidden, variant=args.variant, residual=args.residual,
                           ops=OPS_CHOICES[args.ops]).to(model.device)
    if args.init:
        # Fine-tune an existing text guide (e.g. with --drop-place) instead of starting from scratch.
        from guide.models.hub import load_model

        start = load_model(args.init, device=model.device).text_guide
        if start is None:
            raise SystemExit(f"--init {args.init} has no text guide to start from")
        mine = {k: v for k, v in text_guide.config().items() if k != "ops"}
        theirs = {k: v for k, v in start.config().items() if k != "ops"}
        if mine != theirs:
            raise SystemExit(f"--init {args.init} holds a text guide with another shape ({theirs}); "
                             f"this run builds {mine}: match --hidden/--variant/--residual/--layer")
        text_guide.load_state_dict(start.state_dict())
    return segmenter, text_guide


def resume(work: Path, text_guide: TextGuide, opt: torch.optim.Optimizer, device: torch.device) -> tuple[int, float]:
    """(step, seconds trained before) from ``work``'s saved state; refuses another guide's state."""
    saved = json.loads((work / "state.json").read_text()).get("text_guide")
    if saved != text_guide.config():
        raise SystemExit(f"{work} holds a text guide with another configuration ({saved}); "
                         "use the same options or another --work-dir")
    meta = load_state(work, text_guide, opt, device)
    return int(meta["step"]), float(meta.get("seconds", 0.0))


def open_training_split(args: argparse.Namespace, size: int, say: bool = True) -> Any:
    """The training data set at ``--split``; without ``--split`` (None) at :data:`DEFAULT_SPLIT`, or
    :data:`FALLBACK_SPLIT` where the data set has no ``guide-train`` but a ``train`` list (said in one
    line when ``say``). Sets ``args.split`` to the split used (the model card and state name it).
    A missing split list raises FileNotFoundError naming the lists there are (guide/data/voc.py)."""
    from guide.data import get_dataset

    if args.split is not None:
        return get_dataset(args.data, args.split, root=args.root, size=size)
    try:
        dataset = get_dataset(args.data, DEFAULT_SPLIT, root=args.root, size=size)
        args.split = DEFAULT_SPLIT
        return dataset
    except FileNotFoundError as missing:
        try:
            dataset = get_dataset(args.data, FALLBACK_SPLIT, root=args.root, size=size)
        except FileNotFoundError:
            raise missing from None  # a wrong --root: the first message says what is expected
    args.split = FALLBACK_SPLIT
    if say:
        print(f"{args.data} {args.root or ''}: no {DEFAULT_SPLIT} split, training on split {FALLBACK_SPLIT} "
              f"({len(dataset)} images; --split picks another)")
    return dataset


def check_dataset(args: argparse.Namespace, model: Any, dataset: Any) -> None:
    """Refuse, with a message, a training split that cannot teach this model (SystemExit)."""
    where = f"{args.data} split {args.split!r}" + (f" in {args.root}" if args.root else "")
    if len(dataset) == 0:
        raise SystemExit(f"{where} has no images: save some annotated images first "
                         f"(a data set's train.txt lists its saved images)")
    names = getattr(dataset, "classes", None)
    if args.data != "scenes" and names is not None and list(names) != list(model.classes):
        raise SystemExit(f"{where} names {len(names)} classes ({', '.join(list(names)[:4])}, ...) but the model has "
                         f"{len(model.classes)} ({', '.join(list(model.classes)[:4])}, ...): a data set made with another model?")


def training_view(model: Any, seed: int) -> Callable[[int, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``view(scene index, image, label)``: the scene as a square training input at the model's
    input size and use-time scale (:func:`guide.data.crop_to_input`); the crop's offset depends
    only on (seed, scene), so cached and recomputed features agree."""
    from guide.data import crop_to_input

    size = int(model.config.input_size)

    def view(i: int, image: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hw = model.network_size(*label.shape)
        return crop_to_input(image, label, hw, size, np.random.default_rng([seed, i, 24]))

    return view


def features_mb(segmenter: SplitSegmenter, model: Any) -> float:
    """Megabytes of float16 head features (guided + skips) per cached scene, from one probe."""
    size = int(model.config.input_size)
    with torch.inference_mode():
        f = segmenter.head(torch.zeros(1, 3, size, size, device=model.device))
    return 2 * (f.guided.numel() + sum(v.numel() for v in f.skips.values())) / 2**20


def training_cache(args: argparse.Namespace, model: Any, segmenter: SplitSegmenter, rank: int,
                   world: int, on_batch: Callable[[int, int], None] | None = None) -> tuple[FeatureCache, int]:
    """This rank's shard of the first ``--scenes`` training scenes, cached once, keeping only
    the scenes the simulated user has something to say about; also how many were looked at.

    Memory is bounded: each scene is one ``input_size`` square (:func:`training_view`), and when
    the shard's features would take more than ``--cache-mb`` only predictions and labels are
    kept and each step recomputes its scenes' features (slower, same result)."""

    size = int(model.config.input_size)
    dataset = open_training_split(args, size, say=rank == 0)
    check_dataset(args, model, dataset)
    scenes = np.arange(min(args.scenes, len(dataset)))[rank::world]
    view = training_view(model, args.seed)
    keep = len(scenes) * features_mb(segmenter, model) <= getattr(args, "cache_mb", float("inf"))
    cache = build_cache(segmenter, model.normalize, dataset, scenes, progress=rank == 0, view=view,
                        keep_features=keep, on_batch=on_batch)
    if not keep:
        def recompute(ids: Sequence[int]) -> Features:
            pairs = [view(i, *dataset[i]) for i in ids]
            with torch.no_grad():  # not inference_mode: these tensors enter the autograd graph of the step
                return segmenter.head(model.normalize(torch.from_numpy(np.stack([p[0] for p in pairs]))))

        cache.recompute = recompute
    classes = len(model.classes)
    labelled = cache.labels[cache.labels != VOID]
    if labelled.size and int(labelled.max()) >= classes:
        raise SystemExit(f"{args.data}/{args.split} has class index {int(labelled.max())} but the model "
                         f"knows {classes} classes: wrong --data for this model?")
    ops = OPS_CHOICES[args.ops]
    useful = np.array([has_hint(p, g, ops, classes) for p, g in zip(cache.preds, cache.labels, strict=True)])
    if not useful.any():
        raise SystemExit("no training scene has anything to hint about: is the segmenter already perfect?")
    return cache.keep(useful), len(useful)


@dataclass
class Batch:
    """One step's samples at the loss grid: ``texts`` B hints, ``features`` (input_size = loss
    grid), ``labels`` BxSxS int64 (255 void), ``weights`` BxSxS float."""

    texts: list[str]
    features: Features
    labels: Tensor
    weights: Tensor


class HintBatches:
    """One rank's training batches: which cached scenes, which hints, which loss weights.

    Everything drawn depends only on (seed, rank, step), so a resumed run draws exactly
    what an uninterrupted one would: scenes from epoch-wise permutations seeded by
    (seed, rank, epoch), hints from (seed, rank, step, 1), place-phrase drops from
    (seed, rank, step, 2).
    """

    def __init__(self, cache: FeatureCache, classes: list[str], args: argparse.Namespace, rank: int,
                 per_rank: int, loss_size: int) -> None:
        self.cache, self.classes, self.rank = cache, classes, rank
        self.seed, self.ops, self.drop_place = args.seed, OPS_CHOICES[args.ops], args.drop_place
        self.book = BOOKS[args.phrasings]
        self.per_rank, self.loss_size = per_rank, loss_size
        self._permutations: dict[int, np.ndarray] = {}

    def row(self, j: int) -> int:
        """The cache row of this rank's j-th sample."""
        epoch, k = divmod(j, len(self.cache))
        if epoch not in self._permutations:
            self._permutations.clear()
            self._permutations[epoch] = np.random.default_rng([self.seed, self.rank, epoch]).permutation(len(self.cache))
        return int(self._permutations[epoch][k])

    def draw(self, step: int, device: torch.device) -> Batch:
        cache = self.cache
        rows = [self.row(j) for j in range(step * self.per_rank, (step + 1) * self.per_rank)]
        rng = np.random.default_rng([self.seed, self.rank, step, 1])
        # --drop-place: some hints lose their place phrase, as users often write "there is no coat".
        # A separate stream, so that --drop-place 0 draws exactly the paper's hints.
        drop = np.random.default_rng([self.seed, self.rank, step, 2]).random(len(rows)) < self.drop_place
        hints = [generate_hint(cache.preds[r], cache.labels[r], self.classes, rng, self.ops,
                               ablation="no-place" if d else "none", book=self.book)
                 for r, d in zip(rows, drop, strict=True)]
        weights = np.stack([hint_weights(h, cache.preds[r], cache.labels[r]) for h, r in zip(hints, rows, strict=True)])  # type: ignore[arg-type]
        return Batch(
            texts=[h.text for h in hints],  # type: ignore[union-attr]
            features=cache.features(rows, (self.loss_size, self.loss_size), device),
            labels=torch.from_numpy(subsample(cache.labels[rows], self.loss_size).astype(np.int64)).to(device),
            weights=torch.from_numpy(subsample(weights, self.loss_size)).to(device),
        )


def train_step(step_module: nn.Module, segmenter: SplitSegmenter, opt: torch.optim.Optimizer, batch: Batch,
               texts: TextCache, device: torch.device) -> float:
    """One optimizer step on ``batch``; returns its loss."""
    emb, lengths = texts.encode(batch.texts, device)
    loss = guided_loss(step_module, segmenter, batch.features, emb, lengths, batch.labels, batch.weights)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.item())


def save_guided_model(args: argparse.Namespace, model: Any, segmenter: SplitSegmenter, text_guide: TextGuide,
                      out: Path, step: int, minutes: float) -> Any:
    """Write ``out`` as a complete model folder with the text guide; returns its ModelConfig."""
    from guide.core.guided import ModelConfig
    from guide.models.hub import save_model
    from guide.text.vectors import VECTORS_SOURCE

    config = ModelConfig.from_dict(model.config.to_dict())
    if segmenter.layer != model.segmenter.layer:
        # The whole model folder is guided at the new layer (text and clicks alike).
        config.split_layer = segmenter.layer
        config.guide = {**config.guide, "alpha_size": text_guide.alpha_size, "beta_size": text_guide.beta_size}
    config.text_guide = {
        **text_guide.config(),
        "layer": segmenter.layer,
        "vectors": VECTORS_SOURCE,
        "trained": {"steps": step, "batch": args.batch, "lr": args.lr, "scenes": int(args.scenes),
                    "split": args.split, "seed": args.seed, "minutes": round(minutes, 1),
                    "phrasings": args.phrasings,
                    **({"drop_place": args.drop_place} if args.drop_place else {}),
                    **({"init": str(args.init)} if args.init else {})},
    }
    config.name = out.name
    text_guide.eval()
    save_model(out, config, segmenter.model, text_guide)
    return config


def validate(args: argparse.Namespace, config: Any, segmenter: SplitSegmenter, text_guide: TextGuide, out: Path,
             device: torch.device) -> dict[str, Any] | None:
    """mIoU of ``--val`` val scenes with no hint and with one (guide/evaluation/text.py); printed and returned."""
    from guide.core.guided import GuidedModel
    from guide.core.settings import Settings, TextSettings
    from guide.evaluation.evaluate import EvalSetup
    from guide.evaluation.text import evaluate_text

    guided = GuidedModel(config, segmenter.model, text_guide, device=device, source="training", folder=out)
    alone = Settings(text=TextSettings(place_mask=None, class_scope=()))  # the guide alone, without the session's place mask and class scope
    report = evaluate_text(guided, counts=[0, 1], ops=OPS_CHOICES[args.ops], runs=1, seed=args.seed, progress=False,
                           phrasings=args.phrasings, setup=EvalSetup(args.data, "val", args.root, args.val, alone))
    if not report["images"]:
        print("val check skipped: the val split has no images")
        return None
    print(f"val ({report['images']} scenes, {args.ops} hints): mIoU {100 * report['miou'][0]:.1f} -> "
          f"{100 * report['miou'][1]:.1f} with one hint")
    return report


class Cancelled(Exception):
    """A run stopped by its ``Hooks.cancel`` (its state is saved: ``--resume`` continues it)."""


@dataclass
class Hooks:
    """How a caller in the same process follows and stops a run (the app's background job,
    guide/training/teach.py): ``progress(report)`` after each phase step, a dict with ``phase`` ("cache",
    "train", "val", "done"), ``done``, ``total``, ``elapsed_s`` and ``eta_s`` (None: unknown);
    ``cancel()`` True stops the run at the next step (state saved, no model folder written)."""

    progress: Callable[[dict[str, Any]], None] | None = None
    cancel: Callable[[], bool] | None = None

    def report(self, phase: str, done: int, total: int, elapsed_s: float, eta_s: float | None) -> None:
        if self.progress is not None:
            self.progress({"phase": phase, "done": int(done), "total": int(total), "elapsed_s": float(elapsed_s),
                           "eta_s": None if eta_s is None else float(eta_s)})

    def cancelled(self) -> bool:
        return bool(self.cancel is not None and self.cancel())


def write_card(out: Path, args: argparse.Namespace, model: Any, config: Any, log: dict[str, Any], examined: int,
               hinted: int) -> Path:
    """The taught folder's model card (README.md): the model it extends, the data set, how many
    images, the command, and the val numbers of the final check."""
    from guide.models.card import write_model_card

    source_card = Path(getattr(model, "folder", None) or "") / "README.md"
    licence = "other"
    if source_card.is_file():
        for line in source_card.read_text(encoding="utf-8").splitlines()[:10]:
            if line.startswith("license:"):
                licence = line.split(":", 1)[1].strip()
    elif str(model.source).startswith("torchvision"):
        licence = "bsd-3-clause"
    data = f"{args.data} `{args.root}` split `{args.split}`" if args.root else f"{args.data} split `{args.split}`"
    rows: list[tuple[str, ...]] = [("check", "images", "mIoU, no hint", "mIoU, one hint")]
    val = log.get("val")
    if val:
        rows.append((f"val split of the data set, {'/'.join(val['ops'])} hints, 1 run (the guide alone: "
                     "no place mask or class scope)", str(val["images"]),
                     f"{100 * val['miou'][0]:.1f}", f"{100 * val['miou'][1]:.1f}"))
    else:
        rows.append(("val check skipped (`--val 0` or no val images)", "0", "-", "-"))
    minutes = log["minutes"]
    return write_model_card(
        out, config,
        title=f"{config.name}: {model.config.name or 'a segmenter'} taught words from {examined} annotated images",
        license=licence,
        summary=(f"The segmenter of `{model.source}` (unchanged, frozen) with a text guide trained by "
                 f"`python -m guide train-guide` on {data}: {examined} images, {hinted} of them with an error the "
                 f"simulated user could hint about; {log['steps']} steps of batch {args.batch} in {minutes:.1f} min "
                 f"({log['ms_per_step']:.0f} ms per step). Typed hints ('find the {model.classes[-1]} on the left', "
                 f"'there is no {model.classes[1 % len(model.classes)]}') now guide it. The licence of the source model applies."),
        metrics_table=rows,
        command=getattr(args, "command", "") or "python -m guide train-guide ...",
    )


def train_guide(args: argparse.Namespace, model: Any = None, hooks: Hooks | None = None) -> Path:
    """Train, save ``--out`` (model folder + model card) and return its path.

    ``model``: an already loaded :class:`guide.core.guided.GuidedModel` to teach (the app's; its
    segmenter is only read) instead of loading ``--model``. ``hooks``: progress and cancel
    (:class:`Hooks`); a cancelled run raises :class:`Cancelled` after saving its state.
    """
    from guide.models.hub import load_model
    from guide.text.vectors import load_vectors

    hooks = hooks or Hooks()
    invocation_start = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world, ddp_device = setup_distributed()
    if model is None:
        model = load_model(args.model, device=ddp_device)
    device = model.device
    segmenter, text_guide = initial_text_guide(args, model)
    step_module: nn.Module = GuideStep(text_guide)
    if world > 1:
        step_module = nn.parallel.DistributedDataParallel(step_module)
    opt = torch.optim.Adam(text_guide.parameters(), lr=args.lr)
    out = Path(args.out)
    work = Path(args.work_dir or Path("runs") / f"{out.name}-text")
    step, seconds_before = 0, 0.0
    if args.resume and (work / "state.json").is_file():
        step, seconds_before = resume(work, text_guide, opt, device)
        if rank == 0:
            print(f"resumed from {work} at step {step}")

    def elapsed() -> float:
        return seconds_before + time.time() - invocation_start

    def cache_progress(done: int, total: int) -> None:
        spent = time.time() - invocation_start
        hooks.report("cache", done, total, elapsed(), spent / done * (total - done) if done else None)
        if hooks.cancelled():
            raise Cancelled("cancelled while caching features")

    size = int(model.config.input_size)
    loss_size = int(args.loss_size or max(1, size // 2))
    cache, examined = training_cache(args, model, segmenter, rank, world, on_batch=cache_progress)
    if rank == 0:
        print(f"cached {len(cache)} scenes with something to hint ({len(cache) / examined:.0%} of {examined}) "
              f"in {time.time() - invocation_start:.0f} s; features "
              f"{text_guide.channels}x{text_guide.alpha_size}x{text_guide.beta_size}, loss grid {loss_size}"
              + ("" if cache.guided is not None else f"; recomputed per step (over --cache-mb {args.cache_mb})"))
    hooks.report("train", step, args.steps, elapsed(), None)  # the word vectors load next (seconds, once per process)
    vectors = load_vectors()
    texts = TextCache(vectors)
    if rank == 0:
        print(f"word vectors: {vectors.source}; text guide: {json.dumps(text_guide.config())}")
    batches = HintBatches(cache, list(model.classes), args, rank, max(1, args.batch // world), loss_size)
    limit_s = 60 * args.time_limit if args.time_limit else None

    losses: list[float] = []
    bar = tqdm(total=args.steps, initial=step, disable=rank != 0, desc="train-guide")
    text_guide.train()
    step_start, step_count, first_step = time.time(), 0, step
    cancelled = False
    while step < args.steps:
        lr = cosine_lr(args.lr, step, args.steps, elapsed(), limit_s)
        for g in opt.param_groups:
            g["lr"] = lr
        losses.append(train_step(step_module, segmenter, opt, batches.draw(step, device), texts, device))
        step += 1
        step_count += 1
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", lr=f"{lr:.1e}")
        per_step = (time.time() - step_start) / step_count
        eta = per_step * (args.steps - step)
        if limit_s is not None:
            eta = max(0.0, min(eta, limit_s - elapsed()))
        hooks.report("train", step, args.steps, elapsed(), eta)
        cancelled = hooks.cancelled()
        stop_early = agree_to_stop(
            cancelled or (limit_s is not None and elapsed() > limit_s) or (args.stop_at is not None and step >= args.stop_at),
            device)
        if rank == 0 and (step % args.save_every == 0 or step == args.steps or stop_early):
            save_state(work, text_guide, opt,
                       {"step": step, "seconds": elapsed(), "text_guide": text_guide.config(), "args": _plain(vars(args))})
        if stop_early:
            break
    bar.close()
    step_ms = 1000 * (time.time() - step_start) / max(step_count, 1)
    if cancelled:
        if world > 1:
            dist.destroy_process_group()
        raise Cancelled(f"cancelled at step {step} of {args.steps} (state saved in {work}: --resume continues)")

    if rank == 0:
        config = save_guided_model(args, model, segmenter, text_guide, out, step, elapsed() / 60)
        log: dict[str, Any] = {"steps": step, "steps_this_run": step - first_step, "minutes": elapsed() / 60,
                               "ms_per_step": step_ms, "final_loss": float(np.mean(losses[-50:])) if losses else None,
                               "images": examined, "hinted": len(cache) * world,
                               "features_cached": cache.guided is not None}
        if args.val:
            hooks.report("val", 0, 1, elapsed(), None)
            try:
                report = validate(args, config, segmenter, text_guide, out, device)
                if report is not None:
                    log["val"] = report
            except FileNotFoundError as e:  # a data set without a val list: the folder is still good
                print(f"val check skipped: {e}")
        write_card(out, args, model, config, log, examined, len(cache) * world)
        work.mkdir(parents=True, exist_ok=True)
        (work / "train_log.json").write_text(json.dumps(log, indent=2) + "\n")
        (out / "train_log.json").write_text(json.dumps(log, indent=2) + "\n")
        hooks.report("done", step, args.steps, elapsed(), 0.0)
        print(f"saved {out} after {step} steps ({elapsed() / 60:.1f} min, {step_ms:.0f} ms/step)")
    if world > 1:
        dist.destroy_process_group()
    return out


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """``vars(args)`` as JSON-safe values (paths as strings)."""
    return {k: v if isinstance(v, (str, int, float, bool, type(None), list)) else str(v) for k, v in d.items()}


def main(argv: list[str] | None = None) -> None:
    import shlex
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.command = "python -m guide train-guide " + shlex.join(argv)
    train_guide(args)
