"""Chinese by default, English through the message catalogue; no string left untranslated."""

import subprocess
import sys

from babel import support
from babel.messages.pofile import read_po
from wtforms import StringField
from wtforms.validators import Length

from wapshop import ROOT
from wapshop.forms import ShopForm, wtforms_catalogue


def test_chinese_is_the_default_and_english_is_a_choice_remembered(client):
    assert "今日特价" in client.get("/?ver=touch").text
    english = client.get("/?lang=en").text
    assert "Today's deals" in english and 'lang="en"' in english
    assert "Today's deals" in client.get("/").text
    assert "今日特价" in client.get("/?lang=zh_CN").text


def test_an_unknown_language_falls_back_to_chinese(client):
    assert "今日特价" in client.get("/?lang=xx&ver=basic").text


def test_every_message_in_code_and_templates_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(pot, "rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with open(ROOT / "wapshop/translations/en/LC_MESSAGES/messages.po", "rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string and not m.fuzzy}
    assert wanted - translated == set()


def test_wtforms_own_messages_follow_the_language_and_are_read_once(app, monkeypatch):
    class Short(ShopForm):
        class Meta:
            csrf = False

        word = StringField(validators=[Length(max=2)])

    wtforms_catalogue.cache_clear()
    loads = []
    real_load = support.Translations.load
    monkeypatch.setattr(
        support.Translations, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k)
    )
    said = {}
    for lang in ("zh_CN", "en", "zh_CN", "en"):
        with app.test_request_context(f"/?lang={lang}", method="POST", data={"word": "长长长"}):
            form = Short()
            assert not form.validate()
            said.setdefault(lang, set()).add(form.word.errors[0])
    assert said["en"] == {"Field cannot be longer than 2 characters."}
    assert len(said["zh_CN"]) == 1 and said["zh_CN"] != said["en"]
    assert "2" in next(iter(said["zh_CN"])) and not next(iter(said["zh_CN"])).isascii()
    assert len(loads) == 2  # one catalogue per language, not one per request
