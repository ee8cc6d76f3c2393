"""Many conversations over one model, as a server holds them (one per browser tab), and
a few models at once (:class:`ModelShelf`: the app's model selector).

A tab's state is small: :meth:`Conversation.get_state` plus a reference to its image and
the spec of its model (``{"image": ndarray | None, "model": str | None, **conversation_state}``). The image is stored once per
process however many tabs show it (:meth:`ConversationPool.intern`), and a bounded LRU
keeps one :class:`Conversation` with the head features of each recently used image;
a tab's event borrows that conversation under its lock and restores the tab's state
into it (cheap when it is the state it already holds: cached logits survive).

Nothing a tab needs is lost when this LRU drops a conversation (its head features are
recomputed from the tab's image), nor when the server holds more tabs than Gradio keeps in
memory: guide/ui/annotate.py's ``DurableStateHolder`` writes the tab states it pushes out to the
app's store (guide/annotation/store.py, guide/annotation/tabstore.py) and restores them at the tab's next event.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from guide.core.backprop import BackpropSettings
from guide.core.guided import GuidedModel, ModelConfig
from guide.core.settings import Settings
from guide.dialogue.conversation import NO_IMAGE, Conversation, UserError, empty_conversation, image_key

CACHE_SIZE = 16  # images whose head features stay cached
MAX_MODELS = 3  # models a ModelShelf keeps loaded (each with its pool): ~10-250 MB of weights each


def blank_tab(model: str | None = None) -> dict[str, Any]:
    """A tab with no image yet, on the model named ``model`` (a spec; None: the default)."""
    return {"image": None, "model": model, **empty_conversation()}


class ConversationPool:
    """Bounded LRU: image key -> (Conversation holding that image's head features, lock).

    ``spec`` names the model (tabs record it); ``examples`` are the model's example image
    files: an image that is not one of them is a person's own, and a model trained on
    synthetic images says so in its first reply (guide/models/domain.py)."""

    def __init__(self, model: GuidedModel, backprop: BackpropSettings | None = None, size: int = CACHE_SIZE,
                 spec: str | None = None, examples: Sequence[str | os.PathLike] = (), settings: Settings | None = None) -> None:
        # settings (guide/core/settings.py): every conversation's, whole; backprop, when given, overrides its clicks
        self.settings = settings
        self.backprop = backprop  # None: the settings' clicks (or the model folder's, guide/core/guided.py)
        self.size, self.spec = size, spec
        self.model = model
        self.classes = list(model.classes)
        self.palette = np.array(model.config.palette[: model.num_classes], dtype=np.uint8)
        self.examples = [str(p) for p in examples]
        self._example_keys: set[str] | None = None  # image keys of the examples, read on first use
        self._entries: OrderedDict[str, tuple[Conversation, threading.Lock]] = OrderedDict()
        self._images: weakref.WeakValueDictionary[str, np.ndarray] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def is_example(self, key: str) -> bool:
        """Whether the image with this key is one of the model's examples (as an upload of
        the example file decodes: same downscaling)."""
        if self._example_keys is None:
            from guide.serving.pagevalues import load_image

            keys = set()
            for path in self.examples:
                try:
                    keys.add(image_key(load_image(path)[0]))
                except (UserError, OSError):  # a missing example is simply not one
                    pass
            self._example_keys = keys
        return key in self._example_keys

    @contextmanager
    def start(self, image: np.ndarray, name: str = "image", note: str = "", intro: str = "") -> Iterator[Conversation]:
        """A new conversation about ``image`` (its greeting said), locked. A person's own
        image (not an example) gets the domain note of a synthetic-domain model."""
        image, key = self.intern(image)
        with self.conversation(image, key) as conversation:
            conversation.set_image(image, name, note, key=key, own=not self.is_example(key), intro=intro)
            yield conversation

    def intern(self, image: np.ndarray) -> tuple[np.ndarray, str]:
        """(the one stored copy of ``image``, its key): tabs showing one image share it."""
        key = image_key(image)
        with self._lock:
            stored = self._images.get(key)
            if stored is None:
                image.setflags(write=False)  # shared between tabs: nobody may write into it
                self._images[key] = stored = image
        return stored, key

    @contextmanager
    def conversation(self, image: np.ndarray, key: str) -> Iterator[Conversation]:
        """The pool's conversation for ``image`` (head features computed on first use), locked."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            else:
                entry = (Conversation(self.model, self.backprop, settings=self.settings), threading.Lock())
                self._entries[key] = entry
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        conversation, lock = entry
        with lock:
            yield conversation

    @contextmanager
    def open(self, tab: dict[str, Any] | None) -> Iterator[Conversation]:
        """A conversation set to ``tab``'s state (UserError when the tab has no image)."""
        if not is_tab(tab) or tab["image"] is None:
            raise UserError(NO_IMAGE)
        if tab.get("model") not in (None, self.spec):  # another model's state: its class indices mean other things
            raise UserError(f"This tab is on model {tab['model']}, not {self.spec}; switch models to use this.")
        with self.conversation(tab["image"], tab["key"]) as conversation:
            conversation.set_state(conversation_state(tab), tab["image"] if conversation.key != tab["key"] or conversation.image is None else None)
            yield conversation

    def tab(self, conversation: Conversation) -> dict[str, Any]:
        """The tab state for ``conversation`` now."""
        return {"image": conversation.image, "model": self.spec, **conversation.get_state()}


class ModelShelf:
    """Bounded LRU of loaded models: spec -> its :class:`ConversationPool` (at most ``size``).

    ``load(spec)`` loads a model (``guide.models.hub.load_model``); ``examples(config)`` lists its
    example files (``guide.models.domain.example_images``). A spec that was evicted is loaded
    again when a tab that uses it comes back. ``configs`` remembers every loaded model's
    config (small: names, palette, domain) so a UI can describe models it no longer holds.

    On ZeroGPU Spaces load models here in the main process (at start-up, or in an event
    that is not a GPU function): a model loaded inside a forked GPU worker is lost with it.
    """

    def __init__(self, load: Callable[[str], GuidedModel], backprop: BackpropSettings | None = None, size: int = MAX_MODELS,
                 examples: Callable[[ModelConfig], Sequence[str | os.PathLike]] | None = None,
                 settings: Settings | None = None) -> None:
        if size < 1:
            raise ValueError("a ModelShelf holds at least one model")
        self.load, self.backprop, self.size, self.examples, self.settings = load, backprop, size, examples, settings
        self.configs: dict[str, ModelConfig] = {}
        self._pools: OrderedDict[str, ConversationPool] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}  # one load per spec at a time

    def add(self, spec: str, model: GuidedModel) -> ConversationPool:
        """Hold ``model`` (already loaded) under ``spec``; the least recently used beyond ``size`` go."""
        pool = ConversationPool(model, self.backprop, spec=spec, examples=self.examples(model.config) if self.examples else (),
                                settings=self.settings)
        with self._lock:
            self.configs[spec] = model.config
            self._pools[spec] = pool
            self._pools.move_to_end(spec)
            while len(self._pools) > self.size:
                self._pools.popitem(last=False)
        return pool

    def models(self) -> list[GuidedModel]:
        """The models held now, least recently used first."""
        with self._lock:
            return [pool.model for pool in self._pools.values()]

    def pool(self, spec: str) -> ConversationPool:
        """The pool of ``spec``'s model, loading it if it is not held (ModelLoadError if it cannot be)."""
        with self._lock:
            pool = self._pools.get(spec)
            if pool is not None:
                self._pools.move_to_end(spec)
                return pool
            loading = self._loading.setdefault(spec, threading.Lock())
        with loading:  # a second tab asking for the same model waits for the first load
            with self._lock:
                pool = self._pools.get(spec)
            return pool if pool is not None else self.add(spec, self.load(spec))

    def example_files(self, spec: str) -> list[str]:
        """The example files of ``spec``'s model, from its remembered config when it is not held."""
        with self._lock:
            pool = self._pools.get(spec)
        if pool is None and spec in self.configs:
            return [str(p) for p in self.examples(self.configs[spec])] if self.examples else []
        return (pool or self.pool(spec)).examples

    def loaded(self) -> list[str]:
        """Specs of the models held now, least recently used first."""
        with self._lock:
            return list(self._pools)

    def switch(self, tab: dict[str, Any], spec: str, said: str) -> dict[str, Any]:
        """``tab`` moved to ``spec``'s model: a fresh conversation about the same image (if
        any) that starts by saying ``said``. Loads the model when it is not held."""
        pool = self.pool(spec)
        if not is_tab(tab) or tab["image"] is None:
            return {**blank_tab(spec), "transcript": [{"role": "assistant", "content": said}]}
        with pool.start(np.array(tab["image"]), tab.get("name", "image"), intro=said) as conversation:
            return pool.tab(conversation)


def conversation_state(tab: dict[str, Any]) -> dict[str, Any]:
    """The :meth:`Conversation.get_state` part of a tab (without its image and model)."""
    return {k: v for k, v in tab.items() if k not in ("image", "model")}


def is_tab(value: Any) -> bool:
    return isinstance(value, dict) and "image" in value and "transcript" in value and "key" in value
