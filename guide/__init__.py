"""Guide Me: correct a frozen segmentation network by talking to it (CVPR 2018).

Quick start::

    from guide import load_model, GuideSession
    session = GuideSession(load_model())          # the embedded default model
    session.set_image(image)                      # HxWx3 uint8 RGB; runs the head once
    labels = session.predict()                    # HxW class indices
    session.add_clicks([(y, x, label)])           # guide by backpropagation
    session.add_text("there is a coat on the top left")  # guide with words
    session.undo()
"""

from .folder import DEFAULT_MODEL
from .hub import load_model
from .model import GuidedModel, ModelConfig
from .session import GuideSession

__all__ = ["DEFAULT_MODEL", "GuideSession", "GuidedModel", "ModelConfig", "load_model"]
