import pytest
from conftest import APP_CLASSES

from guide.core.classnames import close_classes, find_class, resolve_class


@pytest.mark.parametrize(
    "text, expected",
    [("coat", 10), ("Coat", 10), ("a coat", 10), ("it's an ankle boot", 15), ("tshirt", 6), ("T-Shirt.", 6),
     ("coats", 10), ("ankle boots", 15), ("It's a Coat", 10), ("I think it's a sandal", 11), ("trousers", 7),
     ("snaekers", 13), ("unicorn", None), ("there is a coat on the top left", None), ("", None), ("x" * 500, None)],
)
def test_resolve_class(text: str, expected: int | None) -> None:
    assert resolve_class(text, APP_CLASSES) == expected


def test_find_class_in_words_prefers_the_longest_name() -> None:
    classes = ["sky", "grass", "t-shirt", "coat", "ankle boot", "boot"]
    assert find_class("there are two coats".split(), classes) == 3
    assert find_class(["t-shirt"], classes) == 2
    assert find_class("the ankle boot on the left".split(), classes) == 4
    assert find_class("a boot".split(), classes) == 5
    assert find_class("a caot on the left".split(), classes) is None  # no typo guessing inside a sentence
    assert find_class([], classes) is None


def test_close_classes_suggests_spellings() -> None:
    assert close_classes("there is a caot", APP_CLASSES)[0] == "coat"
    assert close_classes("shrt", APP_CLASSES)[:2] == ["shirt", "t-shirt"]
    assert close_classes("<script>alert(1)</script>", APP_CLASSES) == []
