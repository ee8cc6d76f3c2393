"""Many conversations over one model, as a server holds them (one per browser tab).

A tab's state is small: :meth:`Conversation.get_state` plus a reference to its image
(``{"image": ndarray | None, **conversation_state}``). The image is stored once per
process however many tabs show it (:meth:`ConversationPool.intern`), and a bounded LRU
keeps one :class:`Conversation` with the head features of each recently used image;
a tab's event borrows that conversation under its lock and restores the tab's state
into it (cheap when it is the state it already holds: cached logits survive).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .backprop import BackpropSettings
from .conversation import NO_IMAGE, Conversation, UserError, empty_conversation, image_key
from .model import GuidedModel

CACHE_SIZE = 16  # images whose head features stay cached


def blank_tab() -> dict[str, Any]:
    """A tab with no image yet."""
    return {"image": None, **empty_conversation()}


class ConversationPool:
    """Bounded LRU: image key -> (Conversation holding that image's head features, lock)."""

    def __init__(self, model: GuidedModel, backprop: BackpropSettings | None = None, size: int = CACHE_SIZE) -> None:
        self.model, self.backprop, self.size = model, backprop or BackpropSettings(), size
        self._entries: OrderedDict[str, tuple[Conversation, threading.Lock]] = OrderedDict()
        self._images: weakref.WeakValueDictionary[str, np.ndarray] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

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
                entry = (Conversation(self.model, self.backprop), threading.Lock())
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
        with self.conversation(tab["image"], tab["key"]) as conversation:
            state = {k: v for k, v in tab.items() if k != "image"}
            conversation.set_state(state, tab["image"] if conversation.key != tab["key"] or conversation.image is None else None)
            yield conversation

    @staticmethod
    def tab(conversation: Conversation) -> dict[str, Any]:
        """The tab state for ``conversation`` now."""
        return {"image": conversation.image, **conversation.get_state()}


def is_tab(value: Any) -> bool:
    return isinstance(value, dict) and "image" in value and "transcript" in value and "key" in value
