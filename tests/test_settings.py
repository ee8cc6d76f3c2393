"""guide/core/settings.py: one settings object, JSON round-trip, passed whole to sessions and conversations."""

import json

import pytest

from guide.core.backprop import BackpropSettings
from guide.core.settings import AskSettings, Limits, Settings, TextSettings
from guide.dialogue.conversation import Conversation
from guide.dialogue.session import GuideSession


def test_round_trips_through_json():
    s = Settings(asking=AskSettings(spread=0, region=5), clicks=BackpropSettings(lr=0.05, margin=0.0),
                 text=TextSettings(compose="stack", place_mask=None, class_scope=("remove",), reword=False),
                 limits=Limits(max_turns=7), fast_clicks=False)
    back = Settings.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s and back.text.class_scope == ("remove",) and back != Settings()
    assert Settings.from_dict({"asking": {"spread": 1}}) == Settings(asking=AskSettings(spread=1))  # partial


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="anchors"):
        Settings.from_dict({"clicks": {"anchors": 32}})  # removed: measured worse
    with pytest.raises(ValueError, match="colour"):
        Settings.from_dict({"colour": 1})
    with pytest.raises(ValueError, match="text_compose"):
        TextSettings(compose="sum")  # removed: measured worse
    with pytest.raises(ValueError, match="text_class_scope"):
        TextSettings(class_scope="find")


def test_session_takes_settings_whole_and_keywords_override(tiny_model):
    s = Settings(asking=AskSettings(spread=5, region=1), clicks=BackpropSettings(lr=0.2),
                 text=TextSettings(place_mask=None, reword=False), fast_clicks=False)
    session = GuideSession(tiny_model, settings=s)
    assert (session.ask_spread, session.ask_region, session.backprop.lr) == (5, 1, 0.2)
    assert session.text_place_mask == {} and session.reword_hints is False and session.fast_clicks is False
    assert session.settings == s
    over = GuideSession(tiny_model, BackpropSettings(lr=0.3), ask_spread=0, text_class_scope=None, settings=s)
    assert (over.ask_spread, over.ask_region, over.backprop.lr, over.text_class_scope) == (0, 1, 0.3, ())
    assert over.settings.asking.spread == 0 and over.settings.text.reword is False
    assert GuideSession(tiny_model).settings.to_dict() == Settings(fast_clicks=None).to_dict()  # defaults unchanged


def test_conversation_takes_settings(tiny_model):
    c = Conversation(tiny_model, settings=Settings(limits=Limits(max_turns=3), asking=AskSettings(spread=2)))
    assert c.max_turns == 3 and c.session.ask_spread == 2
    assert Conversation(tiny_model, max_turns=9, ask_spread=1).max_turns == 9
    assert Conversation(tiny_model, settings=Settings()).max_turns == 50


def test_the_app_pool_passes_settings_to_each_conversation(tiny_model):
    import numpy as np

    from guide.serving.pool import ConversationPool

    pool = ConversationPool(tiny_model, settings=Settings(asking=AskSettings(spread=4)))
    assert pool.backprop is None  # the settings' own clicks
    with pool.start(np.zeros((32, 32, 3), np.uint8)) as conversation:
        assert conversation.session.ask_spread == 4 and conversation.session.settings == pool.settings


def test_a_model_folder_carries_its_own_default_settings(tiny_model_dir, tmp_path):
    import shutil

    from guide.core.guided import ModelLoadError
    from guide.models.hub import load_model
    from guide.serving.pool import ConversationPool

    folder = tmp_path / "tuned"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["settings"] = {"asking": {"spread": 2}, "limits": {"max_turns": 7}}
    (folder / "config.json").write_text(json.dumps(config))
    model = load_model(folder, device="cpu")
    assert GuideSession(model).settings.asking.spread == 2  # the folder's, where nothing else is said
    assert GuideSession(model).settings.clicks == BackpropSettings()  # fields left out keep their defaults
    assert Conversation(model).max_turns == 7 and Conversation(model).session.ask_spread == 2
    assert GuideSession(model, settings=Settings()).settings.asking.spread == Settings().asking.spread  # given wins
    import numpy as np

    with ConversationPool(model).start(np.zeros((32, 32, 3), np.uint8)) as conversation:
        assert conversation.session.ask_spread == 2 and conversation.max_turns == 7

    config["settings"] = {"asking": {"sprad": 2}}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="sprad"):
        load_model(folder, device="cpu")
