"""Old module names, kept working: ``import guide.session`` is ``guide.dialogue.session``.

The package was one flat folder until the modules moved into one folder per layer (docs/architecture.md).
Scripts and notebooks outside this repository import the old names (``from guide.conversation import
Conversation``, ``from guide.hub import load_model``): the Conversation API and the CLI are contracts.
:data:`MOVED` maps each old name to its new home; :class:`OldNames`, on ``sys.meta_path`` after Python's own
finders (so a real module always wins), hands back the moved module itself, so an old and a new import are
one module object (patching one patches the other). ``guide.models`` and ``guide.train`` were modules and are
folders now: ``guide.models`` re-exports the old module's names; the old ``guide.train`` was only a command
(``python -m guide train-segmenter``, unchanged).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
from types import ModuleType

MOVED = {
    "guide.errors": "guide.core.errors",
    "guide.labels": "guide.core.labels",
    "guide.hints": "guide.core.hints",
    "guide.classnames": "guide.core.classnames",
    "guide.metrics": "guide.core.metrics",
    "guide.block": "guide.core.block",
    "guide.split": "guide.core.split",
    "guide.backprop": "guide.core.backprop",
    "guide.pointtail": "guide.core.pointtail",
    "guide.questions": "guide.core.questions",
    "guide.model": "guide.core.guided",
    "guide.settings": "guide.core.settings",
    "guide.export": "guide.core.export",
    "guide.online": "guide.core.online",
    "guide.text.queries": "guide.text.generator",
    "guide.text.understand": "guide.text.reader",
    "guide.folder": "guide.models.folder",
    "guide.hub": "guide.models.hub",
    "guide.pretrained": "guide.models.pretrained",
    "guide.card": "guide.models.card",
    "guide.domain": "guide.models.domain",
    "guide.session": "guide.dialogue.session",
    "guide.conversation": "guide.dialogue.conversation",
    "guide.tools": "guide.dialogue.tools",
    "guide.cost": "guide.dialogue.cost",
    "guide.suggest": "guide.dialogue.suggest",
    "guide.carry": "guide.dialogue.carry",
    "guide.pool": "guide.serving.pool",
    "guide.uivalues": "guide.serving.pagevalues",
    "guide.render": "guide.serving.render",
    "guide.gradio_cache": "guide.serving.gradio_cache",
    "guide.space": "guide.serving.space",
    "guide.dataset": "guide.annotation.dataset",
    "guide.batch": "guide.annotation.intake",
    "guide.annotate": "guide.annotation.annotator",
    "guide.store": "guide.annotation.store",
    "guide.tabstore": "guide.annotation.tabstore",
    "guide.hubpush": "guide.annotation.hubpush",
    "guide.evaluate": "guide.evaluation.evaluate",
    "guide.clicks": "guide.evaluation.simulated",
    "guide.annotators": "guide.evaluation.annotators",
    "guide.bench": "guide.evaluation.bench",
    "guide.text.evaluate": "guide.evaluation.text",
    "guide.text.evaluate_reader": "guide.evaluation.reader",
    "guide.trainstate": "guide.training.state",
    "guide.text.train": "guide.training.text",
    "guide.teach": "guide.training.teach",
}


class OldNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the module it moved to."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(name, self) if name in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """The moved module has run already (``create_module`` imported it)."""
