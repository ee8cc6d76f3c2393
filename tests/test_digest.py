"""The one digest recipe (guide/core/digest.py): durable records keep these strings, so it never changes."""

import numpy as np

from guide.conversation import image_key
from guide.core.digest import array_digest
from guide.dataset import labels_sha1


def test_the_digest_recipe_is_pinned_and_shape_counts() -> None:
    a = np.arange(24, dtype=np.uint8).reshape(4, 6)
    assert array_digest(a) == "115883f334616d12b6186eadf4e4eee35c694576"  # pinned: stored records name it
    assert array_digest(a) != array_digest(a.reshape(6, 4))  # same bytes, other shape
    assert array_digest(a) == labels_sha1(a) == image_key(a)  # one recipe for images and label maps
    assert array_digest(a, a) != array_digest(a) and array_digest(a, extra="0.5") != array_digest(a)
    assert array_digest(a[:, ::2]) == array_digest(np.ascontiguousarray(a[:, ::2]))  # views: their pixels
