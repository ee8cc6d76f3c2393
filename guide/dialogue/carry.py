"""A guide carried across a batch of images: what the finished images taught, applied to the next.

Issue 22's lever beyond one image: an annotator labelling a batch fixes the same kind of
mistake again and again (an unseen texture read as the wrong stuff class, one class
under-predicted everywhere). After an image is finished, its label map teaches the network's
guiding block the batch's bias, and the next image starts from that guided prediction;
per-image guiding (clicks, answers, text) composes on top of it.

What is carried (:class:`CarriedGuide`, small plain data, JSON-able):

* ``gamma_s``, ``gamma_b``: C floats each, the guiding block's per-channel scale and bias
  (guide/core/block.py, Eq. 1-2), applied to the split layer's activation of every image:
  ``A' = (1 + gamma_s_c) * A + gamma_b_c``. Only the parameters that do not depend on where
  a pixel is (alpha and beta are per row / column of one image; they are not carried);
* ``class_bias``: K floats added to the logits (a class the batch has more of than the
  network expects);
* ``images``: how many finished images it was fitted on.

All zeros reproduces the unguided network exactly. The network's weights never change.

How it is learnt (:class:`CarryLearner`): each finished image's label map (HxW class
indices at image resolution, ``VOID`` ignored) is subsampled to ``CarrySettings.pixels``
pixels, mapped to network pixels, and kept with the image's head features (the pool holds
the last ``CarrySettings.pool`` images: features are tensors, never part of the state).
:meth:`CarryLearner.fit` then takes ``steps`` Adam steps on the cross-entropy of the guided
tail at those pixels, each over up to ``images_per_step`` images of the pool (the newest
always among them), warm-started from the carried values. The machine time this takes is
the app's, not the person's (``CarryLearner.learn`` returns it).

Apply it with :meth:`guide.dialogue.session.GuideSession.set_carry` (or ``Conversation.set_carry``):
the session's unguided prediction becomes the carried one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from guide.core.block import GuideParams, GuidingBlock
from guide.core.guided import image_to_network
from guide.core.labels import VOID
from guide.core.split import Features

FIT_CHOICES = ("gamma", "bias")  # what CarrySettings.fit may name


@dataclass
class CarriedGuide:
    """What a batch's finished images taught (see the module docstring): plain lists of floats.

    gamma_s, gamma_b: C (the guiding block's channels); class_bias: K (the model's classes)."""

    gamma_s: list[float]
    gamma_b: list[float]
    class_bias: list[float]
    images: int = 0

    @staticmethod
    def zeros(channels: int, classes: int) -> CarriedGuide:
        return CarriedGuide([0.0] * int(channels), [0.0] * int(channels), [0.0] * int(classes))

    @staticmethod
    def for_model(model: Any) -> CarriedGuide:
        """All zeros for ``model`` (a GuidedModel): the unguided network."""
        return CarriedGuide.zeros(model.block.guided_channels, model.num_classes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able)."""
        return asdict(self)

    @staticmethod
    def from_dict(data: Any, channels: int | None = None, classes: int | None = None) -> CarriedGuide:
        """Back from :meth:`to_dict`; checks the lengths against ``channels`` / ``classes`` when given.
        Raises ValueError with a clear message on anything else."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), (list, tuple)) for k in ("gamma_s", "gamma_b", "class_bias")):
            raise ValueError("not a carried guide: expected a dict with lists gamma_s, gamma_b, class_bias")
        try:
            carry = CarriedGuide([float(v) for v in data["gamma_s"]], [float(v) for v in data["gamma_b"]],
                                 [float(v) for v in data["class_bias"]], int(data.get("images", 0)))
        except (TypeError, ValueError):
            raise ValueError("a carried guide holds numbers only") from None
        if len(carry.gamma_s) != len(carry.gamma_b):
            raise ValueError(f"carried guide: gamma_s has {len(carry.gamma_s)} values, gamma_b {len(carry.gamma_b)}")
        if channels is not None and len(carry.gamma_s) != channels:
            raise ValueError(f"this carried guide is for {len(carry.gamma_s)} channels; the model's guiding block has {channels}")
        if classes is not None and len(carry.class_bias) != classes:
            raise ValueError(f"this carried guide is for {len(carry.class_bias)} classes; the model has {classes}")
        if not all(np.isfinite(carry.gamma_s + carry.gamma_b + carry.class_bias)):
            raise ValueError("a carried guide holds finite numbers only")
        return carry

    @property
    def is_zero(self) -> bool:
        return not any(self.gamma_s) and not any(self.gamma_b) and not any(self.class_bias)

    def params(self, block: GuidingBlock, device: torch.device | str = "cpu") -> GuideParams:
        """The guiding parameters (batch 1; alpha and beta zero) for ``block``."""
        p = block.zero_params(device=device)
        return GuideParams(p.alpha, p.beta, torch.tensor([self.gamma_s], device=device), torch.tensor([self.gamma_b], device=device))

    def bias(self, device: torch.device | str = "cpu") -> Tensor | None:
        """1xKx1x1 logit offset, or None when it is all zero."""
        if not any(self.class_bias):
            return None
        return torch.tensor(self.class_bias, device=device).view(1, -1, 1, 1)


@dataclass(frozen=True)
class CarrySettings:
    """How a carried guide is fitted (chosen on val: docs/annotation-effort.md, "Carried guide")."""

    fit: tuple[str, ...] = ("gamma", "bias")  # which of FIT_CHOICES are learnt
    steps: int = 10  # Adam steps after each finished image
    lr: float = 0.01
    pixels: int = 2000  # labelled pixels sampled from each finished image
    images_per_step: int = 8  # pool images per step (the newest always among them)
    pool: int = 32  # finished images kept (their head features) to learn from
    l2: float = 0.01  # weight of the sum of squares of the carried values (0.0, 0.003, 0.01, 0.03 tried on val)
    seed: int = 0

    def __post_init__(self) -> None:
        bad = [f for f in self.fit if f not in FIT_CHOICES]
        if bad:
            raise ValueError(f"CarrySettings.fit names {bad}; choose among {FIT_CHOICES}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fit": list(self.fit)}


class _Session(Protocol):  # what CarryLearner.learn reads of a GuideSession (no import: session imports this module)
    model: Any

    @property
    def features(self) -> Features: ...

    @property
    def image_size(self) -> tuple[int, int]: ...


@dataclass
class _Done:
    """One finished image in the pool: its head features and N sampled (network row, col, class)."""

    features: Features
    ys: Tensor
    xs: Tensor
    labels: Tensor


@dataclass
class CarryLearner:
    """Learns a :class:`CarriedGuide` from the finished images of a batch, in order.

    ``carry`` is the plain-data result; the pool of finished images (tensors) stays here."""

    model: Any  # GuidedModel
    settings: CarrySettings = CarrySettings()
    carry: CarriedGuide | None = None
    done: list[_Done] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.carry is None:
            self.carry = CarriedGuide.for_model(self.model)
        self._rng = np.random.default_rng(self.settings.seed)

    def add(self, features: Features, image_size: tuple[int, int], label_map: np.ndarray) -> bool:
        """Keep a finished image: its head ``features`` and its ``label_map`` (HxW class indices at
        image resolution ``image_size``; ``VOID`` ignored). False (nothing kept) when it has no label."""
        label_map = np.asarray(label_map)
        H, W = int(image_size[0]), int(image_size[1])
        if label_map.shape != (H, W):
            raise ValueError(f"label map is {label_map.shape}; the image is {H}x{W}")
        flat = np.flatnonzero((label_map.ravel() != VOID) & (label_map.ravel() < self.model.num_classes))
        if not len(flat):
            return False
        pick = self._rng.choice(flat, min(self.settings.pixels, len(flat)), replace=False)
        y, x = pick // W, pick % W
        dev = features.guided.device
        ys, xs = (torch.from_numpy(v).to(dev) for v in image_to_network(y, x, (H, W), features.input_size))
        labels = torch.from_numpy(label_map.ravel()[pick].astype(np.int64)).to(dev)
        detached = Features(features.guided.detach(), {k: v.detach() for k, v in features.skips.items()}, features.input_size)
        self.done.append(_Done(detached, ys, xs, labels))
        del self.done[: max(len(self.done) - self.settings.pool, 0)]
        return True

    def fit(self) -> None:
        """``settings.steps`` Adam steps on the pool, from the carried values (see the module docstring)."""
        s, carry = self.settings, self.carry
        assert carry is not None
        if not self.done or not s.fit or s.steps <= 0:
            return
        model = self.model
        block, seg = model.block, model.segmenter
        dev = self.done[0].features.guided.device
        gs = torch.tensor([carry.gamma_s], device=dev, requires_grad="gamma" in s.fit)
        gb = torch.tensor([carry.gamma_b], device=dev, requires_grad="gamma" in s.fit)
        bias = torch.tensor(carry.class_bias, device=dev, requires_grad="bias" in s.fit)
        learnt = [t for t in (gs, gb, bias) if t.requires_grad]
        opt = torch.optim.Adam(learnt, lr=s.lr)
        zero = block.zero_params(device=dev)
        n = len(self.done)
        for _ in range(s.steps):
            chosen = [n - 1] + list(self._rng.permutation(n - 1)[: max(s.images_per_step - 1, 0)])
            groups: dict[tuple, list[_Done]] = {}  # images with one feature shape share one tail pass
            for i in chosen:
                d = self.done[i]
                groups.setdefault((tuple(d.features.guided.shape[1:]), d.features.input_size), []).append(d)
            opt.zero_grad()
            loss = torch.zeros((), device=dev)
            for ds in groups.values():
                f = Features(torch.cat([d.features.guided for d in ds]),
                             {k: torch.cat([d.features.skips[k] for d in ds]) for k in ds[0].features.skips}, ds[0].features.input_size)
                logits = seg.tail(f, block(f.guided, GuideParams(zero.alpha, zero.beta, gs, gb))) + bias.view(1, -1, 1, 1)
                for b, d in enumerate(ds):
                    loss = loss + F.cross_entropy(logits[b][:, d.ys, d.xs].T, d.labels)
            loss = loss / len(chosen)
            if s.l2:
                loss = loss + s.l2 * sum(t.pow(2).sum() for t in learnt)
            loss.backward()
            opt.step()
        self.carry = CarriedGuide(gs.detach().cpu().tolist()[0], gb.detach().cpu().tolist()[0],
                                  bias.detach().cpu().tolist(), carry.images)

    def learn(self, session: _Session, label_map: np.ndarray) -> float:
        """A finished image (the session's image and its final ``label_map``): keep it and fit.
        Returns the machine seconds it took."""
        start = time.perf_counter()
        if self.add(session.features, session.image_size, label_map):
            assert self.carry is not None
            self.carry.images += 1
            with torch.enable_grad():
                self.fit()
        return time.perf_counter() - start
