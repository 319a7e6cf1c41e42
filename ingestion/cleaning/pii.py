"""PII redaction before anything reaches training-visible fields.

Redacted: e-mail addresses, phone numbers, payment card numbers (Luhn-checked, so order numbers
survive), IBANs, and in support transcripts the names people give in greetings ("Hi Maria,",
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
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\w)")
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

    if "@" in text:
        text = sub(EMAIL, "[EMAIL]", text)
    if any(char.isdigit() for char in text):
        text = sub(CARD, "[CARD]", text, keep=lambda m: not luhn_ok(re.sub(r"\D", "", m.group(0))))
        text = sub(IBAN, "[IBAN]", text)
        text = sub(PHONE, "[PHONE]", text, keep=lambda m: not 9 <= sum(c.isdigit() for c in m.group(0)) <= 15)
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
