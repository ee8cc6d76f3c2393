"""Models: architectures, model folders on disk and on the Hub, torchvision's pretrained segmenters, cards.

Layer models of docs/architecture.md: imports only from the layers below it."""

from guide.models.architectures import ARCHITECTURES, build_segmenter, has_aux  # the old guide.models module's names

__all__ = ["ARCHITECTURES", "build_segmenter", "has_aux"]
