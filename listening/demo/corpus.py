"""The demo corpus: made-up but realistic mentions of the demo brands, generated deterministically.

It is the project's own data (a user's machine has no labelled datasets), shaped to exercise every
capability: social posts, product reviews and support transcripts; several languages; personas whose
interests form audiences (affinity clusters); a campaign that lifts volume; retweets and copy-paste
spam (dedup, bot scores); e-mail addresses and phone numbers in support tickets (PII redaction); and,
in the last hours, a burst of complaints about one product (the spike alert).

Items come out in the push format of ``POST /api/v1/ingest`` (see ``api/ingest.py``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

OWN = "Northwind"
COMPETITORS = ("Summit & Co", "TrailPeak")

PRODUCTS: dict[str, list[str]] = {
    "Northwind": [
        "StormShell jacket",
        "Ridge 45 backpack",
        "Ember down sleeping bag",
        "Trailhead boots",
        "Canopy 2 tent",
    ],
    "Summit & Co": ["Alpine Pro jacket", "Summit 60 pack", "Glacier boots", "Basecamp tent"],
    "TrailPeak": ["TrailPeak Lite jacket", "Daypack 20", "Switchback trail shoes", "Pop-up tent"],
}

# What people praise or complain about, by aspect.
ASPECTS: dict[str, tuple[list[str], list[str]]] = {
    "waterproofing": (
        [
            "kept me bone dry through a full day of rain",
            "shrugged off a proper downpour",
            "still beads water after a season",
        ],
        ["soaked through in light drizzle", "the seams leak after two washes", "wetted out within an hour"],
    ),
    "fit": (
        [
            "fits true to size, room for a fleece underneath",
            "the cut is spot on for long arms",
            "comfortable all day",
        ],
        ["runs two sizes small", "the sleeves are way too short", "rubs at the hips after a few miles"],
    ),
    "durability": (
        [
            "three seasons in and not a single scuff",
            "survived a week of scrambling on granite",
            "built like a tank",
        ],
        [
            "the zipper broke on day two",
            "stitching came apart after a month",
            "the buckle snapped on the first trip",
        ],
    ),
    "weight": (
        ["barely notice it in my pack", "so light for how warm it is", "ultralight without feeling flimsy"],
        ["heavier than the listing says", "way too bulky to pack down", "weighs a ton for a day pack"],
    ),
    "price": (
        ["worth every penny", "great value for the quality", "picked it up on sale, absolute steal"],
        ["overpriced for what you get", "not worth the premium at all", "the price went up again, no thanks"],
    ),
    "service": (
        [
            "customer service sorted my exchange in a day",
            "support replied within an hour, impressed",
            "easy returns",
        ],
        [
            "still waiting for a refund after three weeks",
            "support keeps sending canned replies",
            "nobody answers the chat",
        ],
    ),
    "sustainability": (
        [
            "love that it's made from recycled fabric",
            "the repair program is brilliant",
            "PFC-free coating, finally",
        ],
        [
            "so much plastic packaging for one jacket",
            "greenwashing, the recycled claim is tiny print",
            "no repair options",
        ],
    ),
}

# Where and when people used the gear, and how they sign off: real posts rarely repeat word for word.
CONTEXTS = [
    "",
    "",
    " on the West Highland Way",
    " after six months of use",
    " on a wet week in the Lakes",
    " during our Dolomites trip",
    " on my commute",
    " in the Cairngorms",
    " on a 3-day hut trek",
    " in Patagonia last spring",
    " on the Camino",
    " in proper Scottish sleet",
    " at a festival",
    " on a family trip to Snowdonia",
    " on the Tour du Mont Blanc",
    " on my first winter camp",
]
ENDINGS = {
    "positive": [
        "",
        "",
        " 10/10.",
        " Would buy again.",
        " 😍",
        " Love it.",
        " Highly recommend!",
        " 🙌",
        " Best purchase this year.",
        " Chuffed.",
    ],
    "negative": [
        "",
        "",
        " Gutted.",
        " Not impressed.",
        " 🙄",
        " Never again.",
        " Sort it out.",
        " 😤",
        " Expected better for the price.",
        " Returning it.",
    ],
    "neutral": ["", "", " Thoughts?", " Any advice welcome.", " Cheers!", " 🤔", " Asking for a friend."],
}

NEUTRAL_LINES = [
    "Does anyone know if the {product} comes in a women's cut?",
    "Comparing the {product} with the {other} for a trip to Iceland next month.",
    "Picked up the {product} today, first hike with it on Saturday.",
    "Is the {product} restocking before winter?",
    "{brand} just posted their new autumn catalogue.",
    "Which size {product} would you get if you're between M and L?",
]

# Personas: audiences with their own interests, hashtags and voice (affinity clustering finds them).
PERSONAS: dict[str, dict[str, Any]] = {
    "eco": {
        "hashtags": ["#zerowaste", "#sustainablefashion", "#repairdontreplace", "#slowfashion"],
        "aspects": ["sustainability", "durability", "price"],
        "asides": [
            "Mending my old fleece this weekend instead of buying new.",
            "Our local swap shop had three barely used tents today!",
            "Reminder: the greenest gear is the gear you already own.",
            "Made my own beeswax wraps for trail snacks, no more cling film.",
        ],
    },
    "ultralight": {
        "hashtags": ["#ultralight", "#thruhike", "#PCT2026", "#baseweight"],
        "aspects": ["weight", "durability", "waterproofing"],
        "asides": [
            "Cut my base weight to 4.1 kg for the thru-hike. Every gram counts.",
            "Day 38 on the trail, feet are finally used to 40 km days.",
            "Swapped my stove for cold soaking, saved 300 g.",
            "Resupply box number six sent out today.",
        ],
    },
    "family": {
        "hashtags": ["#familycamping", "#kidsoutdoors", "#campinglife", "#weekendaway"],
        "aspects": ["price", "fit", "service"],
        "asides": [
            "The kids made s'mores for the first time, total chaos, total joy.",
            "Booked the lakeside campsite for half term!",
            "Rain all weekend but the kids loved puddle jumping.",
            "Packing for four people is a logistics exercise.",
        ],
    },
    "runner": {
        "hashtags": ["#trailrunning", "#ultramarathon", "#skyrunning", "#runtheworld"],
        "aspects": ["weight", "fit", "durability"],
        "asides": [
            "New PB on the hill loop this morning, legs are toast.",
            "Signed up for my first 50k in the spring!",
            "Nothing beats a sunrise run on the ridge.",
            "Tapering this week, going slightly mad.",
        ],
    },
    "alpinist": {
        "hashtags": ["#mountaineering", "#alpinism", "#winterclimbing", "#summitpush"],
        "aspects": ["waterproofing", "durability", "fit"],
        "asides": [
            "Conditions on the north face look perfect for the weekend.",
            "Avalanche course done, feeling much more confident.",
            "Ice axe sharpened, crampons checked. Ready.",
            "Turned back 200 m below the summit. The mountain will be there next year.",
        ],
    },
}

FIRST_NAMES = [
    "Maya",
    "Liam",
    "Sofia",
    "Noah",
    "Aisha",
    "Lucas",
    "Emma",
    "Kenji",
    "Olivia",
    "Mateo",
    "Freya",
    "Omar",
    "Chloe",
    "Arjun",
    "Ingrid",
    "Diego",
    "Hannah",
    "Tomas",
    "Priya",
    "Jonas",
    "Lea",
    "Samuel",
    "Yara",
    "Felix",
]
LAST_NAMES = [
    "Berg",
    "Okafor",
    "Silva",
    "Novak",
    "Larsen",
    "Patel",
    "Moreau",
    "Kowalski",
    "Tanaka",
    "Reyes",
    "Walsh",
]

FOREIGN: list[tuple[str, str, str]] = [
    ("es", "La chaqueta {product} de {brand} es increíble, me mantuvo seca toda la ruta.", "positive"),
    ("es", "Muy decepcionada con {brand}, la cremallera se rompió en una semana.", "negative"),
    ("de", "Die {product} von {brand} ist super leicht und trotzdem warm. Klare Empfehlung!", "positive"),
    ("de", "Der Kundenservice von {brand} antwortet einfach nicht. Sehr ärgerlich.", "negative"),
    ("fr", "Le sac {product} de {brand} est parfait pour la randonnée, très confortable.", "positive"),
    ("fr", "Franchement déçu par {brand}, les coutures fuient déjà.", "negative"),
]

SPAM = [
    "🔥 FREE {brand} jackets!!! Follow & RT to win 👉 bit.ly/fr33-g3ar #giveaway #win #free #contest",
    "Earn $500/day from home!!! DM me 💰💰 {brand} {brand} {brand} #crypto #money",
    "Cheap {brand} outlet 90% off -> http://northwind-outlet-deals.example/sale",
]

CAMPAIGN_LINES = [
    "The {brand} #WildAutumn film made me want to quit my job and walk into the hills.",
    "Entered the #WildAutumn photo contest with my shot from the ridge this morning!",
    "Wild Autumn collection from {brand} is gorgeous, that rust colour on the {product} 😍",
    "Not sure about the #WildAutumn hype, the {product} is the same as last year with a new colour.",
    "{brand}'s #WildAutumn trail clean-up day was so well organised, 40 bags of litter collected.",
]

BURST_LINES = [
    "The zipper on my {brand} StormShell jacket snapped on the first zip. Two weeks old. Unacceptable.",
    "@northwindoutdoor my StormShell zipper broke AGAIN. This is the replacement. What is going on?",
    "Anyone else's Northwind StormShell zip failing? Mine split open halfway up the hill today.",
    "Third StormShell in our club with a broken zipper this week. Northwind, sort your QC out.",
    "Northwind StormShell: £280 jacket, zipper made of cheese. Never again.",
    "Returned my Northwind StormShell, zip teeth came apart in the rain. Really disappointed.",
]

SUPPORT_OPENERS = [
    ("My {product} arrived with a broken zip. Order {order}. Can I get a replacement?", "negative"),
    ("Hi, I'd like to return the {product}, it's too small. Order number {order}.", "neutral"),
    ("Where is my order {order}? Tracking hasn't updated in 6 days.", "negative"),
    ("Just wanted to say the repair you did on my {product} is perfect, thank you!", "positive"),
    ("I was charged twice for order {order}, please refund one payment.", "negative"),
]
AGENT_REPLIES = [
    "Thanks for reaching out, {name}! I'm sorry about that. I've arranged a replacement, it ships tomorrow.",
    "Hi {name}, thanks for your patience. I've issued a prepaid return label to your email.",
    "Hi {name}, I've checked with the courier: your parcel is out for delivery today.",
    "Thank you so much for the kind words, {name}! I'll pass them on to our repair team.",
    "Hi {name}, I can see the duplicate charge and have refunded it; it takes 3-5 working days.",
]


@dataclass(frozen=True)
class DemoAuthor:
    id: str
    handle: str
    name: str
    persona: str
    loyal_to: str  # the brand this author mostly writes about


def _authors(rng: random.Random, count: int) -> list[DemoAuthor]:
    brands = [OWN, OWN, *COMPETITORS]  # the demo's own brand has the biggest audience
    authors = []
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        persona = list(PERSONAS)[index % len(PERSONAS)]
        handle = f"{first.lower()}{rng.choice(['_', '.', ''])}{last.lower()}{rng.randint(1, 99)}"
        authors.append(DemoAuthor(f"u{1000 + index}", handle, f"{first} {last}", persona, rng.choice(brands)))
    return authors


def _brand_text(brand: str) -> str:
    return {"Northwind": "Northwind", "Summit & Co": "Summit & Co", "TrailPeak": "TrailPeak"}[brand]


def _opinion(rng: random.Random, author: DemoAuthor, brand: str, sentiment: str) -> str:
    persona = PERSONAS[author.persona]
    product = rng.choice(PRODUCTS[brand])
    if sentiment == "neutral":
        others = [p for b, ps in PRODUCTS.items() if b != brand for p in ps]
        text = rng.choice(NEUTRAL_LINES).format(
            product=product, other=rng.choice(others), brand=_brand_text(brand)
        )
    else:
        aspect = rng.choice(persona["aspects"])
        good, bad = ASPECTS[aspect]
        phrase = rng.choice(good if sentiment == "positive" else bad)
        openers = {
            "positive": [
                "The {brand} {product} {phrase}.",
                "Honestly the {product} from {brand} {phrase}!",
                "Shoutout to {brand}: my {product} {phrase}.",
            ],
            "negative": [
                "My {brand} {product} {phrase}.",
                "Really disappointed, the {product} {phrase}.",
                "{brand}, why? The {product} {phrase}.",
            ],
        }[sentiment]
        text = rng.choice(openers).format(brand=_brand_text(brand), product=product, phrase=phrase)
        text = text[:-1] + rng.choice(CONTEXTS) + text[-1]
    text += rng.choice(ENDINGS[sentiment])
    if rng.random() < 0.6:
        text += " " + " ".join(rng.sample(persona["hashtags"], k=rng.randint(1, 2)))
    if rng.random() < 0.15:
        text += f" https://photos.example.com/{author.handle}/{rng.randint(1000, 9999)}"
    return text


def _engagement(rng: random.Random, boost: float = 1.0) -> dict[str, int]:
    likes = int(rng.paretovariate(1.6) * 3 * boost)
    return {"likes": likes, "reposts": likes // rng.randint(3, 9), "replies": rng.randint(0, 4)}


def _when(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A time in [start, end) with more posts in the evening than at night."""
    while True:
        moment = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
        if rng.random() < (0.25 + 0.75 * (1 if 7 <= moment.hour <= 22 else 0.2)):
            return moment


def generate(now: datetime, *, days: int = 45, seed: int = 7, burst: bool = True) -> Iterator[dict[str, Any]]:
    """Yield push items (dicts with ``channel`` = social/review/support) covering ``days`` up to ``now``.

    Deterministic for a given (now, days, seed): one random generator is drawn from in a fixed
    order, part after part. The campaign runs over the last 10 days; with ``burst`` the last 2 hours
    hold a wave of complaints about the StormShell jacket zipper.
    """
    rng = random.Random(seed)
    corpus = _Corpus(rng, _authors(rng, 240), now, days)
    yield from corpus.everyday_posts()
    yield from corpus.other_languages()
    yield from corpus.campaign_posts()
    yield from corpus.bot_waves()
    yield from corpus.reviews()
    yield from corpus.support_transcripts()
    if burst:
        yield from corpus.complaint_burst()


class _Corpus:
    """The parts of the demo corpus, drawn from one generator over one timeline."""

    def __init__(self, rng: random.Random, authors: list[DemoAuthor], now: datetime, days: int) -> None:
        self.rng, self.authors, self.now, self.days = rng, authors, now, days
        self.start = now - timedelta(days=days)
        self.campaign_start = now - timedelta(days=10)
        self.quiet_end = now - timedelta(hours=2)  # the burst's window follows
        self.serial = 0

    def social(
        self, author: DemoAuthor, text: str, at: datetime, boost: float = 1.0, lang: str = "en"
    ) -> dict[str, Any]:
        self.serial += 1
        serial = self.serial
        return {
            "channel": "social",
            "external_id": f"tw-{serial:06d}",
            "text": text,
            "published_at": at.isoformat(),
            "author": {"id": author.id, "handle": author.handle, "name": author.name},
            "url": f"https://social.example.com/{author.handle}/status/{serial}",
            "engagement": _engagement(self.rng, boost),
            "language": lang,
        }

    def _quiet_time(self) -> datetime:
        return _when(self.rng, self.start, self.quiet_end)

    def everyday_posts(self) -> Iterator[dict[str, Any]]:
        """Opinions about the author's favourite brand, sometimes another, plus asides and retweets."""
        rng = self.rng
        weights = {
            "Northwind": (0.5, 0.25, 0.25),
            "Summit & Co": (0.45, 0.3, 0.25),
            "TrailPeak": (0.35, 0.3, 0.35),
        }
        for _ in range(self.days * 26):
            author = rng.choice(self.authors)
            at = self._quiet_time()
            roll = rng.random()
            if roll < 0.12:
                aside = rng.choice(PERSONAS[author.persona]["asides"])
                place = rng.choice(CONTEXTS[2:]).strip()
                tail = rng.choice(
                    [f" ({place})", f" Day {rng.randint(2, 60)}.", " 🏔️", " ☀️", "", f" {rng.randint(2, 9)}°C."]
                )
                yield self.social(
                    author, aside + tail + " " + rng.choice(PERSONAS[author.persona]["hashtags"]), at
                )
                continue
            brand = author.loyal_to if rng.random() < 0.75 else rng.choice([OWN, *COMPETITORS])
            sentiment = rng.choices(["positive", "neutral", "negative"], weights=weights[brand])[0]
            item = self.social(author, _opinion(rng, author, brand, sentiment), at)
            yield item
            if rng.random() < 0.05:  # a retweet of it
                fan = rng.choice(self.authors)
                yield self.social(
                    fan, f"RT @{author.handle}: {item['text']}", at + timedelta(minutes=rng.randint(1, 90))
                )

    def other_languages(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        for _ in range(self.days):
            author = rng.choice(self.authors)
            lang, template, _sentiment = rng.choice(FOREIGN)
            brand = rng.choice([OWN, *COMPETITORS])
            text = template.format(product=rng.choice(PRODUCTS[brand]), brand=_brand_text(brand))
            yield self.social(author, text, self._quiet_time(), lang=lang)

    def campaign_posts(self) -> Iterator[dict[str, Any]]:
        """The campaign lifts the demo brand's volume and engagement over its last 10 days."""
        rng = self.rng
        for _ in range(10 * 14):
            author = rng.choice(self.authors)
            text = rng.choice(CAMPAIGN_LINES).format(brand=OWN, product=rng.choice(PRODUCTS[OWN]))
            text += rng.choice(
                ["", "", " 🍂", " #autumn", " #hiking", " Go see it.", f" Day {rng.randint(1, 30)}."]
            )
            yield self.social(author, text, _when(rng, self.campaign_start, self.quiet_end), boost=2.5)

    def bot_waves(self) -> Iterator[dict[str, Any]]:
        """The same spam from several accounts within minutes (near-duplicates, high bot scores)."""
        rng = self.rng
        for wave in range(6):
            at = self._quiet_time()
            text = rng.choice(SPAM).format(brand=rng.choice([OWN, *COMPETITORS]))
            for bot in range(5):
                bot_author = DemoAuthor(
                    f"b{wave}{bot}", f"deals_{wave}{bot}_{rng.randint(1000, 9999)}", "Deals", "bot", OWN
                )
                yield self.social(bot_author, text, at + timedelta(seconds=bot * 20))

    def reviews(self) -> Iterator[dict[str, Any]]:
        """Product reviews with ratings."""
        rng = self.rng
        for index in range(self.days * 4):
            author = rng.choice(self.authors)
            brand = rng.choice([OWN, OWN, *COMPETITORS])
            rating = rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 5])[0]
            sentiment = "positive" if rating >= 4 else "negative" if rating <= 2 else "neutral"
            body = _opinion(rng, author, brand, sentiment).split(" #")[0]
            product = next((p for p in PRODUCTS[brand] if p in body), PRODUCTS[brand][0])
            yield {
                "channel": "review",
                "external_id": f"rv-{index:05d}",
                "text": body,
                "published_at": self._quiet_time().isoformat(),
                "author": {"id": author.id, "handle": "", "name": author.name.split()[0]},
                "rating": rating,
                "extra": {
                    "title": f"{product}: {['Awful', 'Poor', 'OK', 'Good', 'Excellent'][rating - 1]}",
                    "product": product,
                    "brand": brand,
                },
                "language": "en",
            }

    def support_transcripts(self) -> Iterator[dict[str, Any]]:
        """Customer and agent turns, with PII the pipeline must redact."""
        rng = self.rng
        for index in range(self.days * 2):
            author = rng.choice(self.authors)
            product = rng.choice(PRODUCTS[OWN])
            order = f"NW-{rng.randint(100000, 999999)}"
            which = rng.randrange(len(SUPPORT_OPENERS))
            opener, _sentiment = SUPPORT_OPENERS[which]
            first = author.name.split()[0]
            email = f"{author.handle.replace('.', '')}@mail.example.com"
            phone = f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
            at = self._quiet_time()
            turns = [
                {
                    "role": "customer",
                    "text": f"Hi, this is {author.name}. "
                    + opener.format(product=product, order=order)
                    + f" You can reach me at {email} or {phone}.",
                    "at": at.isoformat(),
                },
                {
                    "role": "agent",
                    "text": AGENT_REPLIES[which].format(name=first),
                    "at": (at + timedelta(hours=rng.randint(1, 20))).isoformat(),
                },
            ]
            if rng.random() < 0.4:
                turns.append(
                    {
                        "role": "customer",
                        "text": rng.choice(
                            [
                                "Thanks, that's great!",
                                "OK, thank you.",
                                "Still not sorted, this is really frustrating.",
                            ]
                        ),
                        "at": (at + timedelta(hours=22)).isoformat(),
                    }
                )
            yield {
                "channel": "support",
                "external_id": f"tk-{index:05d}",
                "text": " ".join(turn["text"] for turn in turns if turn["role"] == "customer"),
                "published_at": at.isoformat(),
                "author": {"id": author.id, "handle": "", "name": author.name},
                "extra": {"ticket_id": 50000 + index, "subject": opener.split(".")[0][:60], "turns": turns},
                "language": "en",
            }

    def complaint_burst(self) -> Iterator[dict[str, Any]]:
        """A spike: StormShell zipper complaints pile up over the last two hours."""
        rng = self.rng
        for _ in range(110):
            author = rng.choice(self.authors)
            text = rng.choice(BURST_LINES).format(brand=OWN) + rng.choice(ENDINGS["negative"])
            yield self.social(author, text, _when(rng, self.quiet_end, self.now), boost=1.5)
