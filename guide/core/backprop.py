"""Guiding by backpropagation from sparse hints (paper §3.2, Eq. 4).

Only the guiding parameters alpha, beta, gamma are optimised; the network is
frozen and its head runs once per image (the caller passes a ``forward`` that
starts from cached head features and returns the logits at the hinted pixels only:
guide/core/pointtail.py's ``click_forward`` gives one that costs in proportion to the hints,
or the dense tail gathered at those pixels). The loss is the cross-entropy at the hinted
pixels plus an optional L2 penalty that keeps the change small, so the whole
image does not turn into the hinted class. Optimisation (SGD with momentum as in the
paper, or L-BFGS) stops as soon as every hinted pixel's hinted class leads the
runner-up by ``BackpropSettings.margin`` (the paper's bare flip is margin 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from guide.core.block import GuideParams


@dataclass(frozen=True)
class BackpropSettings:
    """Hyper-parameters of Eq. 4, stated in one place (measured by ``python -m guide bench``)."""

    optimizer: str = "sgd"  # "sgd" (with momentum, as in the paper) or "lbfgs" (as in f-BRS)
    # 0.1 with ask_spread 3 chosen on val for twenty questions (docs/results.md, "Twenty questions"; was 0.05)
    lr: float = 0.1
    momentum: float = 0.9
    max_steps: int = 60
    l2: float = 1e-3  # weight of sum(p^2): prefer the smallest change that satisfies the hints
    # Stop once each hinted logit leads the runner-up by this much. The paper stops at a
    # bare flip (0.0); a small margin makes the flip stick and spread to similar pixels:
    # docs/results.md, "Twenty questions", reports it with uncertain-area asking against the paper's
    # rule (``--margin 0 --region 0``) on 100 test scenes; the margin was swept on val.
    margin: float = 1.0
    # Each turn's optimisation starts from the previous turn's parameters (True) or from zero.
    warm_start: bool = True


@dataclass
class BackpropResult:
    params: GuideParams
    steps: int  # optimiser updates (gradient evaluations for L-BFGS); 0 when already satisfied
    satisfied: bool  # every hinted pixel predicts its hinted class, by the settings' margin


def hints_satisfied(picked: Tensor, labels: Tensor, margin: float = 0.0) -> bool:
    """Whether each hinted pixel's top class is its label (by at least ``margin``).

    picked: NxK logits at the N hinted pixels (``pointtail.pick(logits, ys, xs)`` for a map).
    """
    target = picked.gather(1, labels[:, None]).squeeze(1)
    others = picked.scatter(1, labels[:, None], float("-inf")).max(1).values
    return bool((target - others > margin).all())


def sgd_update(ps: Sequence[Tensor], grads: Sequence[Tensor | None], bufs: list[Tensor | None], settings: BackpropSettings) -> None:
    """One SGD step in place, as torch.optim.SGD with momentum (no dampening, no Nesterov) and the
    L2 term's gradient (2 * l2 * p) as weight decay. A parameter with no gradient (FiLM's alpha and
    beta, which the forward ignores) is not updated."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        g = g.add(ps[i], alpha=2 * settings.l2)
        bufs[i] = g.clone() if bufs[i] is None else bufs[i].mul_(settings.momentum).add_(g)
        ps[i].add_(bufs[i], alpha=-settings.lr)


def guide_by_backprop(
    forward: Callable[[GuideParams], Tensor],
    init: GuideParams,
    labels: Tensor,
    settings: BackpropSettings = BackpropSettings(),
) -> BackpropResult:
    """Optimise guiding parameters so the hinted pixels take their labels.

    forward: params -> NxK logits at the N hinted pixels (the guided tail over cached
        features, evaluated at those pixels only or gathered from the whole map).
    init: starting parameters (zeros, or the previous turn's for warm starts).
    labels: N classes, one per hinted pixel, in ``forward``'s order.
    Deterministic: no randomness is involved.
    """
    def data_loss(logits: Tensor) -> Tensor:
        return F.cross_entropy(logits, labels)

    def satisfied(logits: Tensor) -> bool:
        return hints_satisfied(logits, labels, settings.margin)

    params = GuideParams(*(t.detach().clone().requires_grad_(True) for t in init.tensors()))
    tensors = params.tensors()

    def loss_of(logits: Tensor) -> Tensor:
        return data_loss(logits) + settings.l2 * params.square_norm().sum()

    steps = 0
    if settings.optimizer == "lbfgs":
        opt = torch.optim.LBFGS(tensors, lr=1.0, max_iter=1, history_size=10, line_search_fn="strong_wolfe")

        def closure() -> Tensor:
            nonlocal steps
            opt.zero_grad()
            loss = loss_of(forward(params))
            loss.backward()
            steps += 1
            return loss

        for _ in range(settings.max_steps):
            with torch.no_grad():
                if satisfied(forward(params)):
                    return BackpropResult(params.detach(), steps, True)
            opt.step(closure)
            if steps >= settings.max_steps:
                break
    elif settings.optimizer == "sgd" and hasattr(forward, "value_and_grad"):
        # A forward with its gradient written out (pointtail.FusedLrasppTail): no autograd.
        ps = [t.detach().clone() for t in init.tensors()]
        bufs: list[Tensor | None] = [None] * len(ps)
        for _ in range(settings.max_steps):
            logits, grads = forward.value_and_grad(GuideParams(*ps), labels)
            if satisfied(logits):
                return BackpropResult(GuideParams(*ps), steps, True)
            sgd_update(ps, grads(), bufs, settings)
            steps += 1
        params = GuideParams(*ps)
    elif settings.optimizer == "sgd":
        # The data loss's gradient by autograd, then the same update in place: a click step on a
        # CPU costs the tail at the hinted pixels plus overhead, and torch.optim.SGD's step and
        # zero_grad were ~0.3 ms of it (a 520 px DeepLabV3-MobileNet step is ~4 ms).
        bufs = [None] * len(tensors)
        for _ in range(settings.max_steps):
            logits = forward(params)
            if satisfied(logits.detach()):
                return BackpropResult(params.detach(), steps, True)
            grads = torch.autograd.grad(data_loss(logits), tensors, allow_unused=True)
            with torch.no_grad():
                sgd_update(tensors, grads, bufs, settings)
            steps += 1
    else:
        raise ValueError(f"unknown optimizer {settings.optimizer!r}; choose 'sgd' or 'lbfgs'")
    with torch.no_grad():
        done = satisfied(forward(params))
    return BackpropResult(params.detach(), steps, done)
