"""The guiding block (paper §3.1, Eq. 1-3).

``A'[h,w,c] = (1 + alpha_h + beta_w + gamma_s_c) * A[h,w,c] + gamma_b_c``

alpha (length Ha) and beta (length Wb) are linearly interpolated to the feature
map's H and W, so they do not depend on a fixed input size. All-zero parameters
reproduce the input exactly.

Variants for the paper's Table 2:
* ``"guide"``: alpha, beta and gamma (the paper's block);
* ``"film"``:  gamma only (Perez et al.'s FiLM conditioning);
* ``GuidingResBlock`` wraps either in a residual block of 256 channels ("w/ res-blk").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

VARIANTS = ("guide", "film")


@dataclass
class GuideParams:
    """Guiding parameters for a batch of B feature maps with C channels.

    alpha: BxHa (rows), beta: BxWb (columns), gamma_s: BxC (scale), gamma_b: BxC (bias).
    """

    alpha: Tensor
    beta: Tensor
    gamma_s: Tensor
    gamma_b: Tensor

    @staticmethod
    def zeros(
        channels: int,
        alpha_size: int,
        beta_size: int,
        batch: int = 1,
        device: torch.device | str = "cpu",
        requires_grad: bool = False,
    ) -> GuideParams:
        def z(n: int) -> Tensor:
            return torch.zeros(batch, n, device=device, requires_grad=requires_grad)

        return GuideParams(z(alpha_size), z(beta_size), z(channels), z(channels))

    def tensors(self) -> list[Tensor]:
        return [self.alpha, self.beta, self.gamma_s, self.gamma_b]

    def detach(self) -> GuideParams:
        return GuideParams(*(t.detach() for t in self.tensors()))

    def to(self, device: torch.device | str) -> GuideParams:
        return GuideParams(*(t.to(device) for t in self.tensors()))

    def square_norm(self) -> Tensor:
        """Sum of squares of all parameters, per batch element: B."""
        return sum(t.pow(2).sum(dim=1) for t in self.tensors())  # type: ignore[return-value]

    def to_lists(self) -> dict[str, list[list[float]]]:
        """Plain data (JSON-able) for session state."""
        return {k: getattr(self, k).detach().cpu().tolist() for k in ("alpha", "beta", "gamma_s", "gamma_b")}

    @staticmethod
    def from_lists(data: dict[str, list[list[float]]], device: torch.device | str = "cpu") -> GuideParams:
        return GuideParams(
            *(torch.tensor(data[k], dtype=torch.float32, device=device) for k in ("alpha", "beta", "gamma_s", "gamma_b"))
        )


def resize_1d(v: Tensor, size: int) -> Tensor:
    """Linearly interpolate BxN vectors to BxSIZE (end points stay on the borders)."""
    if v.shape[1] == size:
        return v
    if v.shape[1] == 1:
        return v.expand(v.shape[0], size)
    return F.interpolate(v[:, None, :], size=size, mode="linear", align_corners=True)[:, 0, :]


def apply_guide(features: Tensor, params: GuideParams, variant: str = "guide") -> Tensor:
    """Guide BxCxHxW ``features`` with ``params`` (Eq. 2); returns BxCxHxW.

    ``variant="film"`` ignores alpha and beta (Eq. 1).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown guiding variant {variant!r}; choose one of {VARIANTS}")
    b, c, h, w = features.shape
    if params.gamma_s.shape[1] != c:
        raise ValueError(f"guide has {params.gamma_s.shape[1]} channels but the feature map has {c}")
    scale = params.gamma_s[:, :, None, None]
    if variant == "guide":
        alpha = resize_1d(params.alpha, h)[:, None, :, None]
        beta = resize_1d(params.beta, w)[:, None, None, :]
        scale = scale + alpha + beta
    return features + scale * features + params.gamma_b[:, :, None, None]


class GuidingBlock(nn.Module):
    """Stateless module form of :func:`apply_guide`; guides a C-channel feature map."""

    def __init__(self, channels: int, alpha_size: int, beta_size: int, variant: str = "guide") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown guiding variant {variant!r}; choose one of {VARIANTS}")
        self.channels, self.alpha_size, self.beta_size, self.variant = channels, alpha_size, beta_size, variant

    @property
    def guided_channels(self) -> int:
        """Length of gamma_s / gamma_b this block expects."""
        return self.channels

    def zero_params(self, batch: int = 1, device: torch.device | str = "cpu", requires_grad: bool = False) -> GuideParams:
        return GuideParams.zeros(self.guided_channels, self.alpha_size, self.beta_size, batch, device, requires_grad)

    def forward(self, features: Tensor, params: GuideParams) -> Tensor:
        return apply_guide(features, params, self.variant)


class GuidingResBlock(GuidingBlock):
    """The "w/ res-blk" variant: guide a 256-channel projection inside a residual block.

    ``A' = A + W2 (guide(U) - U)`` with ``U = relu(W1 A)``. Writing the residual as a
    difference keeps the identity at zero parameters while W1, W2 are trained
    together with the text guide.
    """

    def __init__(
        self, channels: int, alpha_size: int, beta_size: int, variant: str = "guide", width: int = 256
    ) -> None:
        super().__init__(channels, alpha_size, beta_size, variant)
        self.width = width
        self.down = nn.Conv2d(channels, width, 1, bias=False)
        self.up = nn.Conv2d(width, channels, 1, bias=False)

    @property
    def guided_channels(self) -> int:
        return self.width

    def forward(self, features: Tensor, params: GuideParams) -> Tensor:
        u = torch.relu(self.down(features))
        return features + self.up(apply_guide(u, params, self.variant) - u)
