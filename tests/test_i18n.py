"""Chinese by default, English through the message catalogue; no string left untranslated."""

import subprocess
import sys

from babel.messages.pofile import read_po

from wapshop import ROOT


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
