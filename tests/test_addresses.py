"""The address parser against tests/data/addresses.tsv (how the lines were made: its README),
and against hostile text."""

import csv
from pathlib import Path

import pytest

from factories import make_regions
from wapshop.extensions import db
from wapshop.services import addresses
from wapshop.services.reference import load_regions

DATA = Path(__file__).resolve().parent / "data" / "addresses.tsv"
GOAL = 0.95


@pytest.fixture
def regions(app):
    with app.app_context():
        load_regions()
        db.session.commit()
        yield


def rows():
    with DATA.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_the_data_holds_at_least_300_lines_some_ambiguous():
    labelled = rows()
    assert len(labelled) >= 300
    assert sum(r["expected"] == "ambiguous" for r in labelled) >= 30


def test_accuracy_to_district_and_no_silent_guess_when_ambiguous(regions):
    exact, wrong_guesses, misses = 0, [], []
    labelled = rows()
    clear = [r for r in labelled if r["expected"] != "ambiguous"]
    for row in labelled:
        parsed = addresses.parse(row["address"])
        got = parsed.region.code if parsed.region else None
        if row["expected"] == "ambiguous":
            if got is not None:
                wrong_guesses.append((row["address"], got))
            elif len(parsed.candidates) >= 2:
                exact += 1
            else:
                misses.append((row["address"], "asked nothing"))
        elif got == row["expected"]:
            exact += 1
        else:
            misses.append((row["address"], got))
    accuracy = exact / len(labelled)
    print(
        f"\naddress parser: {exact}/{len(labelled)} = {accuracy:.1%} to district level "
        f"({len(clear)} clear, {len(labelled) - len(clear)} ambiguous); "
        f"silent wrong guesses on ambiguous lines: {len(wrong_guesses)}"
    )
    for address, got in misses:
        print("  miss:", address, "→", got)
    assert wrong_guesses == []
    assert accuracy >= GOAL


def test_ambiguous_district_lists_each_candidate_and_keeps_the_street(regions):
    parsed = addresses.parse("朝阳区三里屯路19号")
    assert parsed.region is None
    assert {c.code for c in parsed.candidates} == {"110105", "220104"}
    assert parsed.street == "三里屯路19号"


def test_the_city_settles_what_the_district_alone_cannot(regions):
    assert addresses.parse("北京朝阳区三里屯").region.code == "110105"
    assert addresses.parse("长春朝阳区人民大街").region.code == "220104"


def test_receiver_phone_and_zip_are_not_the_street_nor_the_region(regions):
    parsed = addresses.parse("张三 13800138000 广东深圳南山区科技园1号 518057")
    assert parsed.region.code == "440305"
    assert parsed.street == "科技园1号"


def test_street_words_that_look_like_regions_do_not_move_the_district(regions):
    parsed = addresses.parse("广州天河区北京路朝阳街5号")
    assert parsed.region.code == "440106"
    assert parsed.street == "北京路朝阳街5号"


def test_a_city_alone_names_no_district(regions):
    parsed = addresses.parse("深圳市科技园")
    assert parsed.region is None and parsed.candidates == []


def test_a_city_with_one_district_names_it(regions):
    assert addresses.parse("东莞市长安镇").region.code == "441901"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 10_240,
        "广东深圳南山区" * 1500,
        "\x00广东\x00深圳\x00南山区\x00",
        "²³¹⁴ ½ ①②",
        "\ud800",
        "<script>alert(1)</script>",
        "%s%n%x' OR 1=1 --",
        "🙂" * 3000,
        "1" * 10_000,
    ],
)
def test_never_raises_on_hostile_text(regions, text):
    parsed = addresses.parse(text)
    assert parsed.region is None or parsed.region.level == 3
    assert "\x00" not in parsed.street


def test_nul_between_names_still_parses(regions):
    assert addresses.parse("广东\x00深圳\x00南山区科技园").region.code == "440305"


def test_works_on_a_partial_table_of_regions(app):
    """The checkout's tests load a few regions only: a district outside them is not named."""
    with app.app_context():
        make_regions()
        assert addresses.parse("广东深圳南山区科技园").region.code == "440305"
        assert addresses.parse("北京朝阳区三里屯").region is None
