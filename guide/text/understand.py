"""One text turn for :class:`guide.session.GuideSession`: text -> guiding parameters -> reply.

``GuideSession.add_text`` calls :func:`encode_hint` to turn the user's words into
``GuideParams`` (stored in the session state as plain lists) and
:func:`describe_text_turn` to say what was read and what changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from guide.block import GuideParams
from guide.text.encoder import TextGuide, encode_texts
from guide.text.tokenizer import Tokens
from guide.text.vectors import load_vectors


@torch.no_grad()
def encode_hint(text_guide: TextGuide, text: str) -> tuple[GuideParams, Tokens]:
    """Guiding parameters for one text (alpha 1xHa, beta 1xWb, gamma 1xC') and its tokens.

    Uses the process-wide GloVe vectors; a text with no known word gives zero
    parameters (the identity guide) and ``tokens.words == []``.
    """
    device = next(text_guide.parameters()).device
    emb, lengths, tokens = encode_texts([text], load_vectors(), device=device)
    return text_guide(emb, lengths).detach(), tokens[0]


def describe_text_turn(text: str, tokens: Tokens, classes: Sequence[str], gained: Mapping[str, int]) -> str:
    """A short reply: which words were read or ignored, and the biggest label changes.

    ``gained`` maps class name -> pixels gained (negative: lost) by this turn.
    """
    parts = [f"Read \u201c{' '.join(tokens.words)}\u201d."]
    if tokens.ignored:
        parts.append(f"Did not know: {', '.join(tokens.ignored[:8])}{'...' if len(tokens.ignored) > 8 else ''}.")
    changes = sorted(gained.items(), key=lambda kv: -abs(kv[1]))
    changes = [(name, n) for name, n in changes if name in classes][:4]
    if changes:
        parts.append("Changed " + ", ".join(f"{name} {n:+d} px" for name, n in changes) + ".")
    else:
        parts.append("The prediction did not change.")
    return " ".join(parts)
