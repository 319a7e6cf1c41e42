"""Writes ``train.tsv`` and ``held_out.tsv`` of the expectation contrast set (see README.md).

    python models/contrast/generate.py

Seeded: it rewrites the committed files byte for byte. The two halves share no template and no
product, brand, price or time filler, so the held-out half measures the construction. Add
templates here, run it, rebuild the default (``python -m models.build_default``).
"""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
PER_TEMPLATE = {"train": 12, "held_out": 6}  # distinct renderings of each template, at most

TRAIN_FILL: dict[str, list[str]] = dict(
    product=[
        "jacket",
        "phone",
        "blender",
        "headphones",
        "backpack",
        "laptop",
        "smartwatch",
        "coffee maker",
        "tent",
        "vacuum",
    ],
    brand=["Acme", "Brightline", "Kestrel", "Orbita", "Vantage", "Lumen", "Harbor", "Zenith"],
    other=["the Kestrel one", "the cheaper model", "the other brand", "last year's model", "the store brand"],
    price=["$300", "$80", "$1,200", "$50", "£150", "$45", "€200"],
    time=["two weeks", "a month", "three days", "one wash", "a week"],
    part=["zipper", "battery", "strap", "screen", "sole", "lid", "charger"],
    ordeal=[
        "a week of rain",
        "a snowy weekend",
        "a muddy trail race",
        "a camping trip in a storm",
        "a winter of daily commuting",
        "a long day on the slopes",
    ],
)
HELD_FILL: dict[str, list[str]] = dict(
    product=[
        "parka",
        "tablet",
        "kettle",
        "earbuds",
        "duffel bag",
        "monitor",
        "rain jacket",
        "espresso machine",
        "sleeping bag",
        "drone",
    ],
    brand=["Northgate", "Solace", "Pinecrest", "Arbor", "Meridian", "Quill"],
    other=[
        "the Solace version",
        "the budget option",
        "my old one",
        "the competitor's",
        "the refurbished one",
    ],
    price=["$250", "$60", "$900", "$100", "£90", "$35"],
    time=["ten days", "two months", "a couple of uses", "one trip", "a fortnight"],
    part=["seam", "hinge", "cable", "buckle", "fan", "handle"],
    ordeal=[
        "a month of downpours",
        "a freezing night on the hill",
        "a windy week at the coast",
        "a three-day hike",
        "a wet music festival",
    ],
)

TRAIN: dict[str, list[str]] = {
    "negative": [
        "I expected better quality for {price}.",
        "Expected better from {brand}, honestly.",
        "Expected more from {brand}. The {part} broke after {time}.",
        "I was expecting a lot more from this {product}.",
        "Not what I expected from {brand} at all.",
        "For {price} I expected it to last longer than {time}.",
        "I expected the {product} to at least work out of the box.",
        "Honestly expected better customer service from {brand}.",
        "Could have been better. The {part} feels cheap.",
        "The {product} could have been so much better for {price}.",
        "Should have bought {other} instead.",
        "Should have gone with {other}, this {product} is a letdown.",
        "I should have read the reviews before buying this {product}.",
        "Wish I had bought {other}.",
        "I'd have been better off with {other}.",
        "Hoped for better from {brand}.",
        "I hoped the {product} would be better than this.",
        "Thought a {price} {product} would last longer than {time}.",
        "I really thought {brand} was better than this.",
        "Not worth {price}.",
        "Definitely not worth the money.",
        "Overpriced for what you get. Expected more.",
        "For the price I'd expect a {part} that doesn't break in {time}.",
        "It's a {product}, it should at least work. Expected better.",
        "Used to love {brand}, expected better than this.",
        "Was really looking forward to this {product}. What a letdown.",
        "Nowhere near as good as I expected.",
        "Falls short of what {brand} promised.",
        "The {product} looked great online, in person not so much.",
        "{brand} used to be better.",
        # How the product came through a use: a plain fault, with or without a verdict after it.
        "The {product} leaked during {ordeal}.",
        "The {part} fell off after {time}.",
        "Barely made it through {ordeal}, the {part} is already cracked.",
        "The {product} gave up halfway through {ordeal}.",
        "Runs a size small, had to send it back.",
        "Arrived with a broken {part}.",
        "The {product} stopped working after {time}.",
        "Got completely soaked in my {brand} {product} during {ordeal}.",
        "The {part} came loose after {time}. Expected better for {price}.",
        "The {product} was wet through after {ordeal}. Not what I paid for.",
        "The {part} died within {time}. Should have bought {other}.",
        "The {part} broke during {ordeal}. Not worth the money.",
        "{brand} {product}, the {part} wore out in {time}. Hoped for more.",
    ],
    "positive": [
        "Better than expected!",
        "The {product} is way better than I expected.",
        "Exceeded my expectations, the {part} is solid.",
        "{brand} exceeded every expectation I had.",
        "Couldn't have been better.",
        "The service couldn't have been better, thanks {brand}!",
        "Didn't expect the {product} to be this good.",
        "Honestly did not expect much for {price}, but it's great.",
        "Even better than I hoped.",
        "More than I expected for {price}.",
        "So glad I didn't buy {other}.",
        "Worth every penny of {price}.",
        "Could not be happier with my {product}.",
        "Expected it to be fine, turned out to be amazing.",
        "Way more than I expected from {brand}.",
        # A use that would break a lesser product, and no fault: praise without a praise word.
        "Took the {product} through {ordeal} and it held up perfectly.",
        "My {brand} {product} survived {ordeal} with no problems at all.",
        "After {time} of heavy use the {part} still works like new.",
        "Stayed warm and dry through {ordeal}, the {product} did its job.",
        "Not a scratch on the {product} after {ordeal}.",
        "The {part} took a beating during {ordeal} and didn't budge.",
        "Still going strong after {time}, no complaints.",
        "Dropped the {product} twice and it still works perfectly.",
        "Fits like a glove.",
        "The {product} handled {ordeal} like a champ.",
        "Rain, mud, the lot, and the {product} came through fine.",
        "The {part} is rock solid after {time}. Worth every penny.",
        "Used it through {ordeal}, zero issues. Better than I expected.",
        "The {product} arrived a day early and works great. Can't fault it.",
    ],
    "neutral": [
        "What should I expect from the new {brand} {product}?",
        "Expected delivery for my {product} is Thursday.",
        "I expect the {product} to arrive in {time}.",
        "{brand} expects the new {product} to ship next month.",
        "Should I buy the {product} now or wait for {other}?",
        "Is it better to order the {product} online or in store?",
        "Which is better, the {brand} {product} or {other}?",
        "The {product} costs {price} at the {brand} store.",
        "Does the {brand} {product} come with a spare {part}?",
        "The {brand} {product} could be released in {time}.",
        # The same uses as plans and questions: "rain" and "broke" are not verdicts by themselves.
        "Taking the {product} on {ordeal} next week, any tips?",
        "Will the {brand} {product} survive {ordeal}?",
        "Packing the {product} for {ordeal}.",
        "Has anyone used the {product} for {ordeal}?",
        "Ordered the {brand} {product} yesterday. Expected delivery is in {time}.",
        "The {product} is {price} at the moment. Is it worth waiting for a sale?",
    ],
}
HELD: dict[str, list[str]] = {
    "negative": [
        "Expected better, to be honest. The {part} gave out after {time}.",
        "I expected more for {price}, this {product} feels flimsy.",
        "This is not the quality I expected from {brand}.",
        "Was expecting better from a {price} {product}.",
        "It could've been a lot better.",
        "Should've stuck with {other}.",
        "I regret not buying {other}.",
        "Really hoped {brand} would do better.",
        "I thought {brand} made better stuff than this.",
        "For {price}? I expected way more.",
        "Not worth it for {price}, expected better.",
        "Less than I expected, and the {part} is already loose.",
        "Definitely expected better from {brand}.",
        "Thought this {product} would last more than {time}.",
        "Had higher hopes for this {product}.",
        "Halfway through {ordeal} the {part} gave out.",
        "The {product} let water in within minutes.",
        "After {time} the {part} is hanging by a thread.",
        "The {product} could not handle {ordeal}. Expected better from {brand}.",
        "{brand}, the {part} cracked on {ordeal}. Not good enough.",
        "Sent the {product} back, it was too small.",
    ],
    "positive": [
        "Way better than I expected, the {part} is sturdy.",
        "This {product} blew past my expectations.",
        "Didn't think a {price} {product} could be this good.",
        "It couldn't be better, honestly.",
        "Far better than I hoped, thanks {brand}.",
        "Pleasantly surprised by the {product}, much better than expected.",
        "Glad I went with {brand} over {other}.",
        "More than worth the {price}.",
        "Wore it through {ordeal} and stayed totally dry.",
        "{time} in and the {product} has not let me down once.",
        "The {product} came back from {ordeal} looking brand new.",
        "Put the {part} through hell on {ordeal}, still perfect.",
        "The {product} took everything {ordeal} threw at it. Brilliant.",
        "Zero leaks after {ordeal}. Very happy with {brand}.",
    ],
    "neutral": [
        "When should I expect my {product} to ship?",
        "The {product} is expected to be back in stock in {time}.",
        "Is the {brand} {product} better than {other}?",
        "I expect {brand} will announce the {product} price soon.",
        "Should I get the {product} in black or grey?",
        "Heading out for {ordeal} with the {product} tomorrow.",
        "Anyone taken the {brand} {product} on {ordeal}?",
        "Which {product} would you pick for {ordeal}?",
    ],
}


# The emotion each sentence carries, for the emotion head (anger / joy / optimism / sadness, no
# neutral class): an expectation exceeded is joy; one let down ("expected", "hoped", "should have",
# "not worth") is disappointment, which the emotion data files under sadness; a plain fault is
# anger. A neutral sentence carries none and trains no emotion.
DISAPPOINTMENT = re.compile(
    r"expect|hope|should|could|wish|regret|letdown|thought|worth|better off|used to|falls short|"
    r"not what|not the quality|in person not",
    re.IGNORECASE,
)


def emotion_of(label: str, template: str) -> str:
    if label == "positive":
        return "joy"
    if label == "negative":
        return "sadness" if DISAPPOINTMENT.search(template) else "anger"
    return ""


def render(
    templates: dict[str, list[str]], fill: dict[str, list[str]], per_template: int, rng: random.Random
) -> list[tuple[str, str, str]]:
    """(label, sentence, emotion) rows: each template with up to ``per_template`` distinct random
    fillings."""
    rows: list[tuple[str, str, str]] = []
    for label, texts in templates.items():
        for template in texts:
            seen: set[str] = set()
            for _ in range(per_template * 4):
                sentence = template.format(**{slot: rng.choice(values) for slot, values in fill.items()})
                sentence = sentence[0].upper() + sentence[1:]  # a filler may open the sentence
                if sentence not in seen:
                    seen.add(sentence)
                    rows.append((label, sentence, emotion_of(label, template)))
                if len(seen) >= per_template:
                    break
    return rows


def main() -> None:
    rng = random.Random(7)
    halves = {
        "train": render(TRAIN, TRAIN_FILL, PER_TEMPLATE["train"], rng),
        "held_out": render(HELD, HELD_FILL, PER_TEMPLATE["held_out"], rng),
    }
    for name, rows in halves.items():
        with (HERE / f"{name}.tsv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["label", "text", "emotion"])
            writer.writerows(rows)
        sentiments, emotions = Counter(row[0] for row in rows), Counter(row[2] for row in rows)
        print(name, len(rows), dict(sentiments), dict(emotions))


if __name__ == "__main__":
    main()
