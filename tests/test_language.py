"""Offline language detection: declared tags, detection on a prefix, no guesses."""

from __future__ import annotations

import pytest

from worker.normalise.language import declared_language, detect_language

SAMPLES = {
    "de": "Die Bundesregierung hat am Mittwoch beschlossen, die Förderung für erneuerbare "
    "Energien deutlich auszuweiten. Der Minister sagte, die Maßnahmen sollen bald greifen.",
    "fr": "Le gouvernement a annoncé mercredi une nouvelle série de mesures pour soutenir les "
    "agriculteurs touchés par la sécheresse, avant la fin du mois.",
    "es": "El gobierno anunció el miércoles un nuevo paquete de medidas para apoyar a los "
    "agricultores afectados por la sequía antes de fin de mes.",
    "nl": "De regering heeft woensdag nieuwe maatregelen aangekondigd om boeren te steunen die "
    "getroffen zijn door de droogte.",
    "ru": "Правительство в среду объявило о новом пакете мер поддержки фермеров, пострадавших "
    "от засухи. Министр заявил, что помощь будет выплачена до конца месяца.",
    "en": "The council approved next year's budget on Tuesday after a long debate about the "
    "harbour, the schools and the roads.",
}


@pytest.mark.parametrize(("code", "text"), SAMPLES.items())
def test_detects_short_and_long_texts(code: str, text: str) -> None:
    assert detect_language(text) == code
    # Only a prefix is read: a long article costs no more than its opening.
    opening = " ".join([text] * 5)
    assert detect_language(opening + " " + SAMPLES["en"] * 200) == code


def test_declared_language_wins_and_is_normalised() -> None:
    assert detect_language(SAMPLES["de"], "en-US") == "en"
    assert [declared_language(t) for t in ("en_GB", "eng", "French", "xx-YY", None)] == [
        "en",
        "en",
        "fr",
        None,
        None,
    ]


@pytest.mark.parametrize("text", ["", "Short.", "1234 5678 90 !!! ???" * 10, "a b c " * 5])
def test_too_little_text_gives_no_guess(text: str) -> None:
    assert detect_language(text) is None


def test_text_the_detector_cannot_encode_gives_no_guess() -> None:
    assert detect_language("A lone surrogate \ud800 " + SAMPLES["en"]) is None
    assert (
        detect_language(
            "中文新闻：市议会周二批准了明年的预算，议员们讨论了港口、学校和道路的问题。" * 2
        )
        == "zh"
    )
