"""The guided tail at a few pixels: what one click step needs, in proportion to the hints.

The click loss (guide/core/backprop.py) reads the logits at the hinted pixels only. At the
default split (the backbone's last stage: ``layer4`` / ``features.16``) the tail is the
classifier head and a bilinear upsampling, and a logit at an input pixel depends on

* at most 4 logits at the head's resolution (bilinear, ``align_corners=False``);
* each of them on a small window of the guided activation: FCNHead's 3x3 conv,
  DeepLabHead's 3x3 conv over ASPP's 1x1 and dilated 3x3 convs (rates 12/24/36),
  LRASPPHead's 1x1 convs and a second bilinear step to the stride-8 features;
* and on the guided activation's global mean (ASPP's pooling branch, LRASPP's scale),
  which has a closed form in the row, column and channel sums of the unguided
  activation, because the guide is pointwise in alpha(row), beta(col) and gamma(channel).

``point_tail`` plans once, per image and set of hinted pixels, which positions each
layer needs (gather indices); every call after that costs a few small matrix products.
Convolutions are evaluated by gathering their taps (stride 1, any dilation and
padding, zeros outside the map) and one matrix product with the weights.
It equals the dense tail gathered at the same pixels up to float rounding
(tests/test_pointtail.py). Not covered (``point_tail`` returns None and callers run the
dense tail, ``dense_point_forward``): split layers before the backbone's last stage,
heads other than torchvision's FCNHead / DeepLabHead / LRASPPHead, guiding blocks
other than :class:`GuidingBlock`, and hints that need the first layer of the head at
more than ``MAX_FRACTION`` of the map's positions (a dense pass is then as cheap).

Positions are flat indices ``row * width + col`` into a map; (row, col) = (y, x).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.segmentation.deeplabv3 import ASPP, ASPPPooling, DeepLabHead
from torchvision.models.segmentation.fcn import FCNHead
from torchvision.models.segmentation.lraspp import LRASPP, LRASPPHead

from guide.core.block import GuideParams, GuidingBlock, resize_1d
from guide.core.split import Features, SplitSegmenter

# Above this share of the map's positions at the head's first layer, gathering taps is
# no cheaper than the dense convolution: fall back to the dense tail.
MAX_FRACTION = 0.25
POINTWISE = (nn.BatchNorm2d, nn.ReLU, nn.Dropout, nn.Identity, nn.Hardswish, nn.Sigmoid)

PointForward = Callable[[GuideParams], Tensor]  # params -> NxK logits at the hinted pixels


class Unsupported(Exception):
    """The head has a layer the point tail does not evaluate (callers fall back to dense)."""


# --------------------------------------------------------------------------- positions


def conv_taps(flat: Tensor, size: tuple[int, int], kernel: int, dilation: int, padding: int) -> Tensor:
    """Input positions a stride-1 conv reads for its outputs at ``flat`` (M).

    Returns MxT flat positions (T = kernel^2 in the weight's (row, col) order), -1 where
    the tap falls outside the map (the conv's zero padding).
    """
    h, w = size
    k = torch.arange(kernel, device=flat.device) * dilation - padding
    ty = (flat // w)[:, None, None] + k[None, :, None]
    tx = (flat % w)[:, None, None] + k[None, None, :]
    ty, tx = torch.broadcast_tensors(ty, tx)
    inside = (ty >= 0) & (ty < h) & (tx >= 0) & (tx < w)
    return torch.where(inside, ty * w + tx, -1).reshape(len(flat), -1)


def union(*taps: Tensor) -> Tensor:
    """Sorted unique in-map positions among ``taps`` (-1 = outside, dropped)."""
    every = torch.cat([t.reshape(-1) for t in taps])
    return torch.unique(every[every >= 0])


def rows_of(taps: Tensor, positions: Tensor) -> Tensor:
    """Row of each tap in the sorted ``positions``; ``len(positions)`` (a zero row) for -1."""
    rows = torch.searchsorted(positions, taps.clamp(min=0))
    return torch.where(taps < 0, len(positions), rows)


def bilinear_taps(ys: Tensor, xs: Tensor, in_size: tuple[int, int], out_size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """What ``F.interpolate(..., size=out_size, mode="bilinear", align_corners=False)`` reads
    for the outputs at rows ``ys`` and columns ``xs`` (N each): Nx4 flat input positions and
    Nx4 weights, with PyTorch's source-index rule (scale = in/out, negatives clamped to 0)."""

    def axis(d: Tensor, n_in: int, n_out: int) -> tuple[Tensor, Tensor, Tensor]:
        src = ((d.double() + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
        i0 = src.floor().long().clamp(max=n_in - 1)
        i1 = (i0 + 1).clamp(max=n_in - 1)
        l1 = (src - i0).clamp(0, 1)
        return i0, i1, l1

    (hi, wi), (ho, wo) = in_size, out_size
    y0, y1, ly = axis(ys, hi, ho)
    x0, x1, lx = axis(xs, wi, wo)
    flat = torch.stack([y0 * wi + x0, y0 * wi + x1, y1 * wi + x0, y1 * wi + x1], 1)
    weights = torch.stack([(1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx], 1)
    return flat, weights.float()


def mix_matrix(rows: Tensor, weights: Tensor, n_rows: int) -> Tensor:
    """The bilinear mix as an NxU matrix: ``matrix @ values`` (values UxC) weighs each output's
    4 rows by ``weights`` (rows/weights Nx4); one matrix product per step, forward and backward."""
    matrix = torch.zeros(len(rows), n_rows, dtype=weights.dtype, device=weights.device)
    return matrix.index_put_((torch.arange(len(rows), device=rows.device)[:, None].expand_as(rows), rows), weights,
                             accumulate=True)


# --------------------------------------------------------------------------- the guided activation


class GuidedPoints:
    """The guided activation ``(1 + alpha_h + beta_w + gamma_s) * A + gamma_b`` at a few
    positions, and its global mean in closed form, differentiable in the parameters.

    base: 1xCxhxw unguided activation (fixed during a click turn); positions: U flat.
    """

    def __init__(self, base: Tensor, positions: Tensor, variant: str, alpha_size: int, beta_size: int) -> None:
        b = base[0].detach()
        self.h, self.w = int(b.shape[1]), int(b.shape[2])
        self.variant = variant
        rows, cols = positions // self.w, positions % self.w
        self.values = b.flatten(1)[:, positions].T.contiguous()  # UxC
        self.mean = b.mean((1, 2))  # C
        # resize_1d is linear: alpha at the map's rows = alpha @ Ra (alpha_size x h); at the positions'
        # rows, alpha @ Ra[:, rows]. The global mean of the guided map,
        #   mean_hw((1 + a_h + b_w + gs) A + gb) = (1 + gs) mean(A) + (a_h . rowsum + b_w . colsum) / hw + gb,
        # is then alpha @ (Ra @ rowsum^T) / hw + ...: small matrices made once, one product each per step.
        ra = resize_1d(torch.eye(alpha_size, dtype=b.dtype, device=b.device), self.h)  # alpha_size x h
        rb = resize_1d(torch.eye(beta_size, dtype=b.dtype, device=b.device), self.w)  # beta_size x w
        self.alpha_at, self.beta_at = ra[:, rows].contiguous(), rb[:, cols].contiguous()  # .. x U
        self.alpha_mean = ra @ b.sum(2).T / (self.h * self.w)  # alpha_size x C (row sums: Cxh)
        self.beta_mean = rb @ b.sum(1).T / (self.h * self.w)  # beta_size x C (column sums: Cxw)

    def at(self, p: GuideParams) -> tuple[Tensor, Tensor]:
        """(UxC values at the positions, 1xC global mean) of the guided activation."""
        scale = 1 + p.gamma_s  # 1xC, as apply_guide: 1 + gamma_s + alpha + beta
        mean = self.mean * scale + p.gamma_b  # 1xC
        if self.variant == "guide":
            scale = scale + (p.alpha @ self.alpha_at + p.beta @ self.beta_at).T  # UxC
            mean = mean + p.alpha @ self.alpha_mean + p.beta @ self.beta_mean
        return torch.addcmul(p.gamma_b, self.values, scale), mean


# --------------------------------------------------------------------------- layers at positions


class Layer:
    """One planned layer: ``run(x, mean)`` maps UxC input rows to MxC' output rows."""

    needs: Tensor  # flat input positions (sorted unique), in the input map
    first_positions: int  # positions at which the costliest (first) conv is evaluated

    def run(self, x: Tensor, mean: Tensor) -> Tensor:
        raise NotImplementedError


class Chain(Layer):
    """A plain nn.Sequential of stride-1 convs and pointwise modules (and ASPP first)."""

    def __init__(self, modules: list[nn.Module], out: Tensor, size: tuple[int, int]) -> None:
        self.steps: list[tuple[str, Any, Any]] = []
        pos = out
        self.first_positions = len(out)
        for m in reversed(modules):
            if isinstance(m, ASPP):
                aspp = AsppLayer(m, pos, size)
                self.steps.append(("aspp", m, aspp))  # type: ignore[arg-type]
                self.first_positions = aspp.first_positions
                pos = aspp.needs
            elif isinstance(m, nn.Conv2d):
                if m.stride != (1, 1) or m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
                    raise Unsupported(f"conv {m}")
                (kh, kw), (dh, dw), (ph, pw) = m.kernel_size, m.dilation, m.padding
                if not (kh == kw and dh == dw and ph == pw):
                    raise Unsupported(f"non-square conv {m}")
                self.first_positions = len(pos)
                if kh == 1 and ph == 0:
                    self.steps.append(("conv1", ConvSpec(m, (0,)), None))
                else:
                    taps = conv_taps(pos, size, kh, dh, ph)
                    live = (taps >= 0).any(0)  # taps outside the map for every position read zeros: skip them
                    kept = tuple(int(t) for t in torch.nonzero(live).flatten())  # in (row, col) order, as conv_taps
                    if len(kept) == 1 and torch.equal(taps[:, live][:, 0], pos):
                        # Only the centre tap is ever inside the map (a dilation wider than the map,
                        # as ASPP's rates 24 and 36 on small maps): a 1x1 conv at the same positions.
                        self.steps.append(("conv1", ConvSpec(m, kept), None))
                        continue
                    taps, pos = taps[:, live], union(taps)
                    rows = rows_of(taps, pos).reshape(-1)
                    self.steps.append(("conv", ConvSpec(m, kept), (rows, bool((rows == len(pos)).any()))))
            elif isinstance(m, POINTWISE):
                self.steps.append(("point", m, None))
            else:
                raise Unsupported(f"layer {type(m).__name__}")
        self.steps.reverse()
        self.steps = [(kind, conv_matrix(m) if kind in ("conv", "conv1") else m, extra) for kind, m, extra in fold_batchnorm(self.steps)]
        self.needs = pos

    def run(self, x: Tensor, mean: Tensor) -> Tensor:
        for kind, m, extra in self.steps:
            if kind == "aspp":
                x = extra.run(x, mean)  # type: ignore[union-attr]
            elif kind == "conv1":
                x = F.linear(x, *m)
            elif kind == "conv":
                # The taps of each output, gathered in one index_select (its backward is one index_add),
                # from the rows, and a zero row where a tap falls outside the map (the conv's padding).
                rows, padded = extra
                taps = (torch.cat([x, x.new_zeros(1, x.shape[1])]) if padded else x).index_select(0, rows)  # (M*T)xC
                x = F.linear(taps.view(-1, m[0].shape[1]), *m)
            else:
                x = m(x[:, :, None, None])[:, :, 0, 0]
        return x


class ConvSpec(NamedTuple):
    """A conv as the point tail runs it: ``taps`` (indices into its kernel's (row, col) positions)
    it reads, and the eval-mode BatchNorm after it that is folded in (or None)."""

    conv: nn.Conv2d
    taps: tuple[int, ...]
    bn: nn.BatchNorm2d | None = None


def fold_batchnorm(steps: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    """An eval-mode BatchNorm right after a conv folded into the conv's weight and bias
    (one affine map instead of two, and no batch-norm backward at every step)."""
    out: list[tuple[str, Any, Any]] = []
    for kind, m, extra in steps:
        if kind == "point" and isinstance(m, nn.BatchNorm2d) and out and out[-1][0] in ("conv", "conv1") and out[-1][1].bn is None:
            if m.training or m.running_mean is None:
                raise Unsupported("batch norm in training mode")
            prev_kind, spec, prev_extra = out.pop()
            out.append((prev_kind, spec._replace(bn=m), prev_extra))
        else:
            out.append((kind, m, extra))
    return out


# conv -> {(taps, batch norm, the tensors' versions): [weight, bias]}: the same few matrices serve every
# click turn on a model (reshaping and folding a 3x3 ASPP conv's weight costs ~25 ms a turn at 520 px).
_MATRICES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
MAX_MATRICES = 4  # per conv (an ASPP 3x3 conv's matrix is ~9-19 MB); the oldest goes first


@torch.no_grad()
def conv_matrix(spec: ConvSpec) -> list[Tensor | None]:
    """``[weight, bias]`` for ``F.linear`` over the gathered taps (Cout x (T*C), taps major) with the
    batch norm folded in: ``bn(conv(x)) = (weight * k) x + (bias - mean) * k + beta``, k = gamma / std.
    Cached per conv while the model lives, a few tap patterns each (frozen weights: an in-place change,
    a move to another device or dtype, is a new key)."""
    conv, bn = spec.conv, spec.bn
    stats = () if bn is None else tuple(t._version for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var) if t is not None)
    w0 = conv.weight
    key = (spec.taps, None if bn is None else id(bn), w0._version, stats, w0.device, w0.dtype, w0.data_ptr())
    cached = _MATRICES.setdefault(conv, {})
    if key not in cached:
        while len(cached) >= MAX_MATRICES:  # bounded: tap patterns (hints near borders) and weight versions
            cached.pop(next(iter(cached)))
        w = conv.weight.flatten(2)[:, :, list(spec.taps)]  # Cout x C x T
        weight, bias = w.transpose(1, 2).flatten(1).contiguous(), conv.bias
        if bn is not None:
            k = (bn.weight if bn.weight is not None else 1) / torch.sqrt(bn.running_var + bn.eps)
            shift = (bn.bias if bn.bias is not None else 0) - bn.running_mean * k
            weight, bias = weight * k[:, None], shift if bias is None else bias * k + shift
        cached[key] = [weight, bias]
    return cached[key]


def _pooled(seq: nn.Sequential) -> Chain:
    """A global-average-pooling branch (ASPPPooling, LRASPP's scale): the layers after the
    pooling, evaluated at the single pooled position."""
    modules = list(seq)
    if not (isinstance(modules[0], nn.AdaptiveAvgPool2d) and modules[0].output_size in (1, (1, 1))):
        raise Unsupported("pooling branch without a global average first")
    chain = Chain(modules[1:], torch.zeros(1, dtype=torch.long), (1, 1))
    if any(kind == "conv" for kind, _, _ in chain.steps):
        raise Unsupported("pooling branch with a spatial conv")
    return chain


class AsppLayer(Layer):
    """torchvision's ASPP at positions: 1x1 and dilated 3x3 branches from the gathered input,
    the pooling branch from the global mean (constant over the map), concat, projection."""

    def __init__(self, aspp: ASPP, out: Tensor, size: tuple[int, int]) -> None:
        self.branches: list[Chain] = []
        self.pooling: list[Chain] = []
        for branch in aspp.convs:
            if isinstance(branch, ASPPPooling):
                self.pooling.append(_pooled(branch))
                self.branches.append(None)  # type: ignore[arg-type]
            else:
                self.branches.append(Chain(list(branch), out, size))
        self.project = Chain(list(aspp.project), out, size)
        self.needs = union(*(b.needs for b in self.branches if b is not None))
        # Each branch's rows of the gathered input; None where a branch reads all of them in order
        # (the widest dilated branch usually does): no gather then.
        self.rows = [None if b is None or torch.equal(b.needs, self.needs) else rows_of(b.needs, self.needs)
                     for b in self.branches]
        self.first_positions = len(out)

    def run(self, x: Tensor, mean: Tensor) -> Tensor:
        outs, pools = [], iter(self.pooling)
        m = len(self.project.needs)
        for branch, rows in zip(self.branches, self.rows):
            if branch is None:
                outs.append(next(pools).run(mean, mean).expand(m, -1))
            else:
                outs.append(branch.run(x if rows is None else x.index_select(0, rows), mean))
        return self.project.run(torch.cat(outs, 1), mean)


class LrasppLayer(Layer):
    """LRASPPHead's logits at positions of the stride-8 map: ``low_classifier(low) +
    high_classifier(up(cbr(high) * scale(mean(high))))``, ``up`` bilinear from the guided map."""

    def __init__(self, head: LRASPPHead, low: Tensor, out: Tensor, high_size: tuple[int, int]) -> None:
        self.head = head
        lh, lw = int(low.shape[2]), int(low.shape[3])
        taps, weights = bilinear_taps(out // lw, out % lw, high_size, (lh, lw))
        self.cbr = Chain(list(head.cbr), union(taps), high_size)
        self.mix = mix_matrix(rows_of(taps, self.cbr.needs), weights, len(self.cbr.needs))
        self.scale = _pooled(head.scale)
        with torch.no_grad():  # the low-level branch is not guided: constant during a turn
            lowp = low[0].flatten(1)[:, out].T  # MxC_low
            self.low_logits = F.linear(lowp, head.low_classifier.weight.flatten(1), head.low_classifier.bias)
        self.needs = self.cbr.needs
        self.first_positions = len(self.needs)

    def run(self, x: Tensor, mean: Tensor) -> Tensor:
        high = self.cbr.run(x, mean) * self.scale.run(mean, mean)
        h = self.head.high_classifier
        return self.low_logits + F.linear(self.mix @ high, h.weight.flatten(1), h.bias)


# --------------------------------------------------------------------------- the point tail


class PointTail:
    """The guided tail's logits at N input pixels; see the module docstring.

    The plan (gather indices, the gathered unguided activation, its sums) is made once;
    ``__call__(params)`` returns NxK logits, differentiable in ``params``. LRASPP heads are
    then fused into one autograd node (:class:`FusedLrasppTail`).
    """

    def __init__(self, layer: Layer, grid: tuple[int, int], base: Tensor, block: GuidingBlock,
                 ys: Tensor, xs: Tensor, input_size: tuple[int, int], logit_positions: Tensor) -> None:
        self.layer = layer
        flat, weights = bilinear_taps(ys, xs, grid, input_size)
        self.mix = mix_matrix(rows_of(flat, logit_positions), weights, len(logit_positions))
        self.guided = GuidedPoints(base, layer.needs, block.variant, block.alpha_size, block.beta_size)

    def __call__(self, params: GuideParams) -> Tensor:
        values, mean = self.guided.at(params)
        logits = self.layer.run(values, mean)  # MxK at the head's resolution
        return self.mix @ logits


class _FusedLraspp(torch.autograd.Function):
    """:class:`FusedLrasppTail` as one autograd node (its backward written out)."""

    @staticmethod
    def forward(ctx, alpha: Tensor, beta: Tensor, gamma_s: Tensor, gamma_b: Tensor, tail: "FusedLrasppTail") -> Tensor:
        logits, saved = tail.logits(alpha, beta, gamma_s, gamma_b)
        ctx.tail, ctx.saved = tail, saved
        return logits

    @staticmethod
    def backward(ctx, grad: Tensor):
        return (*ctx.tail.gradients(ctx.saved, grad), None)


class FusedLrasppTail:
    """LRASPP's point tail with its gradient written out (same values as the generic plan,
    which it is built from).

    LRASPP's tail at a few pixels is a handful of small matrix products, so a click step is
    bound by per-operation overhead, not arithmetic (a 520 px tail pass is ~8 ms on a 2-core
    CPU): autograd records ~60 operations per step and replays ~250 in backward. Here the
    params -> logits map is ~15 operations and its gradient ~20; ``value_and_grad`` lets
    :func:`guide.core.backprop.guide_by_backprop` run SGD without autograd at all (docs/speed.md).
    Shapes: U guided positions, C channels, I = LRASPP's inter channels, M stride-8
    positions, N hinted pixels, K classes. ``offset``: NxK logits added (text turns), or None.
    """

    def __init__(self, tail: PointTail) -> None:
        layer = tail.layer
        assert isinstance(layer, LrasppLayer)
        cbr, scale = layer.cbr.steps, layer.scale.steps
        if not ([k for k, _, _ in cbr] == ["conv1", "point"] and isinstance(cbr[1][1], nn.ReLU)
                and [k for k, _, _ in scale] == ["conv1", "point"] and isinstance(scale[1][1], nn.Sigmoid)):
            raise Unsupported("LRASPP head with other layers than conv-BN-ReLU and conv-sigmoid")
        zeros = lambda n: layer.low_logits.new_zeros(n)  # noqa: E731
        (self.cbr_w, cbr_b), (self.scale_w, scale_b) = cbr[0][1], scale[0][1]
        self.cbr_b = cbr_b if cbr_b is not None else zeros(self.cbr_w.shape[0])
        self.scale_b = scale_b if scale_b is not None else zeros(self.scale_w.shape[0])
        high = layer.head.high_classifier
        self.high_w = high.weight.flatten(1)  # KxI
        # logits = mix_out @ (low + high_b + mix_high @ (h * g) @ high_w^T): the two mixes in one NxU matrix
        self.mix = tail.mix @ layer.mix
        self.const = tail.mix @ (layer.low_logits + (high.bias if high.bias is not None else 0))  # NxK
        gp = tail.guided
        self.spatial = gp.variant == "guide"
        self.values, self.mean0 = gp.values, gp.mean[None]
        self.alpha_at, self.beta_at, self.alpha_mean, self.beta_mean = gp.alpha_at, gp.beta_at, gp.alpha_mean, gp.beta_mean
        self.offset: Tensor | None = None

    def logits(self, alpha: Tensor, beta: Tensor, gamma_s: Tensor, gamma_b: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """NxK logits at the hinted pixels (no autograd) and what :meth:`gradients` needs."""
        scale = 1 + gamma_s  # 1xC
        mean = torch.addcmul(gamma_b, self.mean0, scale)  # 1xC: the guided map's global mean
        if self.spatial:
            scale = scale + (alpha @ self.alpha_at + beta @ self.beta_at).T  # UxC
            mean = mean + alpha @ self.alpha_mean + beta @ self.beta_mean
        v = torch.addcmul(gamma_b, self.values, scale)  # UxC guided activation at the positions
        h = torch.addmm(self.cbr_b, v, self.cbr_w.T).clamp_(min=0)  # UxI: cbr (conv + folded BN + ReLU)
        g = torch.addmm(self.scale_b, mean, self.scale_w.T).sigmoid_()  # 1xI: the scale branch
        logits = torch.addmm(self.const, self.mix @ (h * g), self.high_w.T)  # NxK
        return (logits if self.offset is None else logits + self.offset), (h, g)

    def gradients(self, saved: tuple[Tensor, Tensor], grad: Tensor) -> tuple[Tensor | None, ...]:
        """d loss / d (alpha, beta, gamma_s, gamma_b) from d loss / d logits (NxK); None for
        alpha and beta in the FiLM variant (which ignores them)."""
        h, g = saved
        d_hg = self.mix.T @ (grad @ self.high_w)  # UxI: d loss / d (h * g)
        d_g = (d_hg * h).sum(0, keepdim=True) * g * (1 - g)  # 1xI, through the sigmoid
        d_v = (d_hg * g * (h > 0)) @ self.cbr_w  # UxC
        d_mean = d_g @ self.scale_w  # 1xC
        dv_a = d_v * self.values  # UxC: d loss / d scale
        d_gs = dv_a.sum(0, keepdim=True) + d_mean * self.mean0
        d_gb = d_v.sum(0, keepdim=True) + d_mean
        if not self.spatial:
            return None, None, d_gs, d_gb
        d_s = dv_a.sum(1)[None]  # 1xU: d loss / d (alpha_row + beta_col)
        return d_s @ self.alpha_at.T + d_mean @ self.alpha_mean.T, d_s @ self.beta_at.T + d_mean @ self.beta_mean.T, d_gs, d_gb

    def value_and_grad(self, params: GuideParams, labels: Tensor) -> tuple[Tensor, Callable[[], tuple[Tensor | None, ...]]]:
        """Logits at the hinted pixels and a function giving the gradient of the mean
        cross-entropy with ``labels`` (N) in the four parameters: one SGD step without autograd."""
        with torch.no_grad():
            logits, saved = self.logits(*params.tensors())

        def grads() -> tuple[Tensor | None, ...]:
            d = logits.softmax(1)
            d[torch.arange(len(labels), device=labels.device), labels] -= 1  # softmax - one-hot
            return self.gradients(saved, d / len(labels))

        return logits, grads

    def __call__(self, params: GuideParams) -> Tensor:
        return _FusedLraspp.apply(params.alpha, params.beta, params.gamma_s, params.gamma_b, self)


def point_tail(segmenter: SplitSegmenter, block: nn.Module, features: Features, base: Tensor,
               ys: Tensor, xs: Tensor, max_fraction: float = MAX_FRACTION, fused: bool = True) -> PointTail | FusedLrasppTail | None:
    """A :class:`PointTail` for the logits at input pixels (``ys``, ``xs``) when the guided
    activation is ``block(base, params)``; None where it is not covered (then use the dense tail).

    base: 1xCxhxw (the head's activation, or what text turns made of it).
    """
    if type(block) is not GuidingBlock or base.shape[0] != 1:  # not the res-block variant
        return None
    if segmenter.index != len(segmenter.stages) - 1:
        return None  # an earlier split: the rest of the backbone would have to run at positions
    classifier = segmenter.model.classifier
    h, w = int(base.shape[2]), int(base.shape[3])
    try:
        if isinstance(segmenter.model, LRASPP) and isinstance(classifier, LRASPPHead):
            low = features.skips.get("low")
            if low is None:
                return None
            grid = (int(low.shape[2]), int(low.shape[3]))
            positions = union(bilinear_taps(ys, xs, grid, features.input_size)[0])
            layer: Layer = LrasppLayer(classifier, low, positions, (h, w))
        elif isinstance(classifier, (FCNHead, DeepLabHead)):
            grid = (h, w)
            positions = union(bilinear_taps(ys, xs, grid, features.input_size)[0])
            layer = Chain(list(classifier), positions, grid)
        else:
            return None
    except Unsupported:
        return None
    if layer.first_positions > max_fraction * h * w:
        return None
    tail = PointTail(layer, grid, base, block, ys, xs, features.input_size, positions)
    if fused and isinstance(layer, LrasppLayer):
        try:
            return FusedLrasppTail(tail)
        except Unsupported:
            pass
    return tail


def pick(logits: Tensor, ys: Tensor, xs: Tensor) -> Tensor:
    """The logits at N pixels: 1xKxHxW -> NxK."""
    return logits[0, :, ys, xs].T


def dense_point_forward(segmenter: SplitSegmenter, block: nn.Module, features: Features, base: Tensor,
                        ys: Tensor, xs: Tensor) -> PointForward:
    """The reference: the whole guided tail, then the logits at the hinted pixels."""
    return lambda p: pick(segmenter.tail(features, block(base, p)), ys, xs)


def click_forward(segmenter: SplitSegmenter, block: nn.Module, features: Features, base: Tensor,
                  ys: Tensor, xs: Tensor, offset: Tensor | None = None, fast: bool = True,
                  max_fraction: float = MAX_FRACTION) -> tuple[PointForward, bool]:
    """What guide_by_backprop needs: params -> NxK logits at the hinted pixels, and whether
    it is the point tail (True) or the dense reference (False).

    offset: 1xKxHxW logit offset added after the tail (text turns in "delta" mode), or None.
    """
    forward: PointForward | None = point_tail(segmenter, block, features, base, ys, xs, max_fraction) if fast else None
    is_fast = forward is not None
    if forward is None:
        forward = dense_point_forward(segmenter, block, features, base, ys, xs)
    if offset is None:
        return forward, is_fast
    picked = pick(offset, ys, xs).detach()
    if isinstance(forward, FusedLrasppTail):
        forward.offset = picked  # kept inside, so guide_by_backprop still sees value_and_grad
        return forward, is_fast
    inner = forward
    return (lambda p: inner(p) + picked), is_fast
