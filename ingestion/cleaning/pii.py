"""PII redaction before anything reaches training-visible fields.

Redacted: e-mail addresses, phone numbers, payment card numbers (Luhn-checked, so order numbers
survive), IBANs (mod-97 checked), and in support transcripts the names people give in greetings ("Hi Maria,",
"this is John Smith") and sign-offs ("Thanks, Maria"). Each kind becomes a placeholder such as
``[EMAIL]`` so the sentence still reads naturally for the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+\b")
# Card-like: 13-19 digits with optional single spaces/dashes between groups.
CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
# Phones: international (+CC ...) or local forms with separators; at least 9 digits overall.
PHONE = re.compile(
    r"(?<![\w+#/.,:-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\w)"
)
_EMAIL_HINT = re.compile(r"\w@\w")  # an @handle has no word character before the "@"
# Every card, phone and IBAN holds 8+ characters of digits and separators in a row.
_NUMBER_RUN = re.compile(r"\d[\d ().+-]{7,}")
_NAME = r"[A-Z][a-z]{1,20}(?: [A-Z][a-z]{1,20})?"
GREETING_NAME = re.compile(
    rf"\b(?P<lead>(?:[Hh]i|[Hh]ello|[Hh]ey|[Dd]ear|[Tt]his is|[Mm]y name is|[Ii] am|I'm)) (?P<name>{_NAME})\b"
)
SIGNOFF_NAME = re.compile(
    r"\b(?P<lead>(?:[Tt]hanks|[Tt]hank you|[Cc]heers|[Rr]egards|[Bb]est|[Ss]incerely)[,!]?) "
    rf"(?P<name>{_NAME})\b"
)
# Words that follow "I am" / "Hi" but are not names.
_NOT_NAMES = frozenset(
    (
        "All Team There Everyone Again So Very Really Not Still Just Also Sure Sorry Happy Glad Writing "
        "Trying Looking Waiting Calling Contacting Reaching Going Having Getting A An The Support Customer "
        "Sir Madam"
    ).split()
)


@dataclass(frozen=True)
class Redaction:
    text: str
    count: int


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _not_a_phone(match: re.Match[str]) -> bool:
    """Phone-shaped numbers that are not phones: too few/many digits, or a long unbroken run
    without a country code (order, tracking and account ids)."""
    found = match.group(0)
    digits = sum(char.isdigit() for char in found)
    if not 9 <= digits <= 15:
        return True
    return found.isdigit() and digits > 11


def iban_ok(candidate: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def redact(text: str, *, names: bool = False) -> Redaction:
    """Replace PII in ``text``; ``names`` also redacts greeting/sign-off names (support transcripts)."""
    count = 0

    def sub(pattern: re.Pattern[str], placeholder: str, source: str, keep: object = None) -> str:
        nonlocal count

        def replace(match: re.Match[str]) -> str:
            nonlocal count
            if keep is not None and keep(match):  # type: ignore[operator]
                return match.group(0)
            count += 1
            return placeholder

        return pattern.sub(replace, source)

    # Cheap gates first: most texts hold no e-mail and no long number, and the full patterns are
    # tried at every position.
    if "@" in text and _EMAIL_HINT.search(text):
        text = sub(EMAIL, "[EMAIL]", text)
    if _NUMBER_RUN.search(text):
        # IBANs first: their digit groups can pass the card check.
        text = sub(IBAN, "[IBAN]", text, keep=lambda m: not iban_ok(m.group(0)))
        text = sub(CARD, "[CARD]", text, keep=lambda m: not luhn_ok(re.sub(r"\D", "", m.group(0))))
        text = sub(PHONE, "[PHONE]", text, keep=_not_a_phone)
    if names:
        for pattern in (GREETING_NAME, SIGNOFF_NAME):

            def name_sub(match: re.Match[str]) -> str:
                nonlocal count
                first = match.group("name").split()[0]
                if first in _NOT_NAMES:
                    return match.group(0)
                count += 1
                return f"{match.group('lead')} [NAME]"

            text = pattern.sub(name_sub, text)
    return Redaction(text, count)
