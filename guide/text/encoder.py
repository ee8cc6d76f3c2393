"""The text guide of paper §3.3: words -> GRU -> linear -> guiding parameters.

Frozen GloVe vectors (BxTx50) are fed in from outside: the module holds no embedding
matrix, so the word representation can never drift during training (the paper freezes
it "to retain a meaningful word representation") and checkpoints stay small. A GRU
(1024 hidden units, as in §4.2) reads the words; a single linear layer maps its last
hidden state to alpha (Ha, rows), beta (Wb, columns), gamma_s and gamma_b (C each, or
the residual block's 256) which guide the split layer's features through ``self.block``.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from guide.core.block import VARIANTS, GuideParams, GuidingBlock, GuidingResBlock
from guide.core.hints import OPERATIONS
from guide.text.tokenizer import MAX_TOKENS, Tokens, tokenize

EMBED_DIM = 50


class WordVectors(Container[str], Protocol):
    """What :func:`encode_texts` needs from word vectors (a gensim ``KeyedVectors`` fits)."""

    vector_size: int

    def __getitem__(self, word: str) -> np.ndarray: ...


class TextGuide(nn.Module):
    """GRU text encoder + guiding block for one layer of a frozen segmenter.

    ``forward(embeddings BxTx50, lengths B) -> GuideParams`` (alpha BxHa, beta BxWb,
    gamma_s/gamma_b BxC'); ``guide(features BxCxhxw, embeddings, lengths) -> BxCxhxw``.
    C' is ``channels`` for the plain block and ``res_width`` (256) for the residual one.
    Any h x w works: the block interpolates alpha/beta to the feature map.

    At initialisation every output is exactly 0, so the guide starts as the identity
    (guided features == features): training starts from the segmenter's own prediction
    instead of from random feature perturbations.
    """

    def __init__(
        self,
        channels: int,
        alpha_size: int,
        beta_size: int,
        hidden: int = 1024,
        variant: str = "guide",
        residual: bool = False,
        ops: Sequence[str] = OPERATIONS,
        embed_dim: int = EMBED_DIM,
        res_width: int = 256,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown guiding variant {variant!r}; choose one of {VARIANTS}")
        self.channels, self.alpha_size, self.beta_size = channels, alpha_size, beta_size
        self.hidden, self.variant, self.residual = hidden, variant, residual
        self.ops = tuple(ops)
        self.embed_dim, self.res_width = embed_dim, res_width
        self.block: GuidingBlock = (
            GuidingResBlock(channels, alpha_size, beta_size, variant, width=res_width)
            if residual
            else GuidingBlock(channels, alpha_size, beta_size, variant)
        )
        self.gru = nn.GRU(embed_dim, hidden, batch_first=True)
        c = self.block.guided_channels
        # FiLM has no spatial terms: do not predict alpha/beta it would ignore.
        self._spatial = (alpha_size + beta_size) if variant == "guide" else 0
        self.out = nn.Linear(hidden, self._spatial + 2 * c)
        # Zero output layer => all params 0 => identity guide at the start. The GRU still
        # learns: after the first step the output weights are non-zero.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def config(self) -> dict[str, Any]:
        """Plain-JSON hyper-parameters; ``build_text_guide(config())`` rebuilds the module."""
        return {
            "channels": self.channels,
            "alpha_size": self.alpha_size,
            "beta_size": self.beta_size,
            "hidden": self.hidden,
            "variant": self.variant,
            "residual": self.residual,
            "ops": list(self.ops),
            "embed_dim": self.embed_dim,
            "res_width": self.res_width,
        }

    def encode(self, embeddings: Tensor, lengths: Tensor) -> Tensor:
        """Last GRU hidden state per text: BxTxE, B -> Bxhidden (zeros for empty texts)."""
        if embeddings.dim() != 3 or embeddings.shape[2] != self.embed_dim:
            raise ValueError(f"expected BxTx{self.embed_dim} embeddings, got {tuple(embeddings.shape)}")
        lengths = torch.as_tensor(lengths, dtype=torch.int64).cpu()
        # pack_padded_sequence rejects length 0; run those as length 1 (a zero vector)
        # and blank their state below: an unreadable hint must not guide.
        packed = pack_padded_sequence(embeddings, lengths.clamp(min=1), batch_first=True, enforce_sorted=False)
        _, h_n = self.gru(packed)
        state = h_n[-1]
        return state * (lengths > 0).to(state.device, state.dtype)[:, None]

    def forward(self, embeddings: Tensor, lengths: Tensor) -> GuideParams:
        """BxTxE word vectors + B lengths -> GuideParams (alpha BxHa, beta BxWb, gamma BxC')."""
        state = self.encode(embeddings, lengths)
        out = self.out(state)
        c = self.block.guided_channels
        b = out.shape[0]
        if self.variant == "guide":
            alpha, beta, gamma_s, gamma_b = torch.split(out, [self.alpha_size, self.beta_size, c, c], dim=1)
        else:
            gamma_s, gamma_b = torch.split(out, [c, c], dim=1)
            alpha = out.new_zeros(b, self.alpha_size)
            beta = out.new_zeros(b, self.beta_size)
        return GuideParams(alpha, beta, gamma_s, gamma_b)

    def guide(self, features: Tensor, embeddings: Tensor, lengths: Tensor) -> Tensor:
        """Guide BxCxhxw ``features`` with the texts' parameters; returns BxCxhxw."""
        return self.block(features, self(embeddings, lengths))


def build_text_guide(cfg: Mapping[str, Any]) -> TextGuide:
    """Rebuild a :class:`TextGuide` from :meth:`TextGuide.config` (unknown keys ignored)."""
    return TextGuide(
        channels=int(cfg["channels"]),
        alpha_size=int(cfg["alpha_size"]),
        beta_size=int(cfg["beta_size"]),
        hidden=int(cfg.get("hidden", 1024)),
        variant=str(cfg.get("variant", "guide")),
        residual=bool(cfg.get("residual", False)),
        ops=tuple(cfg.get("ops", OPERATIONS)),
        embed_dim=int(cfg.get("embed_dim", EMBED_DIM)),
        res_width=int(cfg.get("res_width", 256)),
    )


def encode_texts(
    texts: Sequence[str],
    vectors: WordVectors,
    max_tokens: int = MAX_TOKENS,
    device: torch.device | str = "cpu",
) -> tuple[Tensor, Tensor, list[Tokens]]:
    """Tokenise and embed texts: -> (BxTx50 float32 zero-padded, B int64 lengths, tokens).

    T = the longest text's word count (at least 1, so an all-empty batch is still a valid
    tensor); a text with no known word gets length 0, which :class:`TextGuide` maps to
    zero guiding parameters (no guidance).
    """
    tokens = [tokenize(t, vectors, max_tokens) for t in texts]
    lengths = [len(t.words) for t in tokens]
    dim = int(getattr(vectors, "vector_size", EMBED_DIM))
    emb = np.zeros((len(texts), max(1, max(lengths, default=0)), dim), dtype=np.float32)
    for i, tok in enumerate(tokens):
        if tok.words:
            emb[i, : len(tok.words)] = np.stack([np.asarray(vectors[w], dtype=np.float32) for w in tok.words])
    return (
        torch.from_numpy(emb).to(device),
        torch.tensor(lengths, dtype=torch.int64),
        tokens,
    )
