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

import sys

from guide.moved import OldNames

if not any(isinstance(f, OldNames) for f in sys.meta_path):  # old module names keep working (guide/moved.py)
    sys.meta_path.append(OldNames())

from guide.core.guided import GuidedModel, ModelConfig  # noqa: E402
from guide.dialogue.session import GuideSession  # noqa: E402
from guide.models.folder import DEFAULT_MODEL  # noqa: E402
from guide.models.hub import load_model  # noqa: E402

__all__ = ["DEFAULT_MODEL", "GuideSession", "GuidedModel", "ModelConfig", "load_model"]
