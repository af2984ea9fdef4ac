"""Language names as providers write them, and as the ports do (ISO 639-1, `en`).

OpenAI's `verbose_json` transcription names the language in English words (`english`,
Whisper's own names, openai/whisper `tokenizer.py`); ElevenLabs' speech-to-text answers
ISO 639-3 (`eng`, its API reference: "The detected language code (e.g. 'eng' for
English)"). Both are mapped to ISO 639-1 here for the languages these engines read;
anything else is passed on as the provider wrote it.
"""

from __future__ import annotations

from collections.abc import Callable

# (ISO 639-1, ISO 639-3, Whisper's name)
_LANGUAGES: tuple[tuple[str, str, str], ...] = (
    ("af", "afr", "afrikaans"),
    ("ar", "ara", "arabic"),
    ("hy", "hye", "armenian"),
    ("az", "aze", "azerbaijani"),
    ("be", "bel", "belarusian"),
    ("bn", "ben", "bengali"),
    ("bs", "bos", "bosnian"),
    ("bg", "bul", "bulgarian"),
    ("ca", "cat", "catalan"),
    ("zh", "cmn", "chinese"),
    ("hr", "hrv", "croatian"),
    ("cs", "ces", "czech"),
    ("da", "dan", "danish"),
    ("nl", "nld", "dutch"),
    ("en", "eng", "english"),
    ("et", "est", "estonian"),
    ("fil", "fil", "filipino"),
    ("tl", "tgl", "tagalog"),
    ("fi", "fin", "finnish"),
    ("fr", "fra", "french"),
    ("gl", "glg", "galician"),
    ("ka", "kat", "georgian"),
    ("de", "deu", "german"),
    ("el", "ell", "greek"),
    ("gu", "guj", "gujarati"),
    ("he", "heb", "hebrew"),
    ("hi", "hin", "hindi"),
    ("hu", "hun", "hungarian"),
    ("is", "isl", "icelandic"),
    ("id", "ind", "indonesian"),
    ("ga", "gle", "irish"),
    ("it", "ita", "italian"),
    ("ja", "jpn", "japanese"),
    ("kn", "kan", "kannada"),
    ("kk", "kaz", "kazakh"),
    ("ko", "kor", "korean"),
    ("lv", "lav", "latvian"),
    ("lt", "lit", "lithuanian"),
    ("mk", "mkd", "macedonian"),
    ("ms", "msa", "malay"),
    ("ml", "mal", "malayalam"),
    ("mr", "mar", "marathi"),
    ("ne", "nep", "nepali"),
    ("no", "nor", "norwegian"),
    ("fa", "fas", "persian"),
    ("pl", "pol", "polish"),
    ("pt", "por", "portuguese"),
    ("pa", "pan", "punjabi"),
    ("ro", "ron", "romanian"),
    ("ru", "rus", "russian"),
    ("sr", "srp", "serbian"),
    ("sk", "slk", "slovak"),
    ("sl", "slv", "slovenian"),
    ("es", "spa", "spanish"),
    ("sw", "swa", "swahili"),
    ("sv", "swe", "swedish"),
    ("ta", "tam", "tamil"),
    ("te", "tel", "telugu"),
    ("th", "tha", "thai"),
    ("tr", "tur", "turkish"),
    ("uk", "ukr", "ukrainian"),
    ("ur", "urd", "urdu"),
    ("vi", "vie", "vietnamese"),
    ("cy", "cym", "welsh"),
)

_BY_NAME = {name: code for code, _, name in _LANGUAGES}
_BY_ISO3 = {iso3: code for code, iso3, _ in _LANGUAGES} | {"zho": "zh", "spa": "es"}


def primary_subtag(language: str) -> str:
    """`en` of `en-US` or `EN_us`: what the providers' `language` fields take."""
    return language.replace("_", "-").split("-", 1)[0].strip().lower()


def from_whisper_name(language: str) -> str:
    """`en` for Whisper's `english`; a code already given is kept (compatible servers
    answer `en`)."""
    key = language.strip().lower()
    return _BY_NAME.get(key, key)


def from_iso3(language: str) -> str:
    """`en` for `eng`; a two-letter code or an unknown one is kept."""
    key = language.strip().lower()
    return _BY_ISO3.get(key, key)


def spoken(requested: str | None, heard: object, read: Callable[[str], str]) -> str:
    """The language of a transcript: the primary subtag of the `requested` one, else the
    provider's `heard` name or code as `read` maps it, else `und`."""
    if requested:
        return primary_subtag(requested)
    return read(heard) if isinstance(heard, str) and heard else "und"
