"""The errors every layer shares (a leaf: it imports nothing of guide's).

:class:`UserError` is what the person did wrong, said in words for them; the library raises it,
the conversation and the app show it as is, and nothing changed when it was raised.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the person did; the message is shown to them as is, and
    nothing in the conversation changed."""
