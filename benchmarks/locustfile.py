"""The traffic of ``benchmarks.load``: dashboard reads, ingestion pushes and analyze calls, mixed by
weight at a steady total rate (``constant_throughput`` per user).

``python -m benchmarks.load`` writes the configuration (``LOAD_CONFIG``: a JSON file with the host's
ids, the API key, the mix and the output path), runs locust on this file and reads back what it
wrote: every request (time, name, milliseconds, error) and the push ledger (which external ids the
API confirmed as stored, which were re-sent on purpose and answered as duplicates). It is not meant
to be run alone. It imports nothing of Django: locust's gevent patches stay in this process.

Request names are ``<group>: <what>`` with group ``read``, ``ingest`` or ``analyze``.

- read: campaign metrics (day or hour), comparisons (the live brands over the last week, or five
  seeded brands over 30 days), mention list pages (organization, brand, brand + negative; some
  follow the cursor to page two), the brand list.
- ingest: ``POST /api/v1/ingest`` of demo-corpus items (social posts, reviews with ratings, support
  transcripts with PII) under fresh external ids, published in the last three hours; about 5 % of
  items re-send an id stored earlier (answered ``duplicate``), and about 5 % of pushes are retried
  with the same ``Idempotency-Key`` (the first answer must be replayed).
- analyze: ``POST /api/v1/analyze`` with 1-10 corpus texts.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import FastHttpUser, constant_throughput, events, task

from listening.demo.corpus import generate

CONFIG: dict[str, Any] = json.loads(Path(os.environ["LOAD_CONFIG"]).read_text(encoding="utf-8"))
HEADERS = {"Authorization": f"Api-Key {CONFIG['key']}"}
NOW = datetime.fromisoformat(CONFIG["now"])

# Items by channel (social/review/support), from several seeds of the demo corpus: varied texts.
POOL: dict[str, list[dict[str, Any]]] = defaultdict(list)
for _seed in range(CONFIG["corpus_seeds"]):
    for _item in generate(NOW, days=45, seed=1000 + _seed, burst=False):
        POOL[_item.pop("channel")].append(_item)
CHANNELS = sorted(POOL)
CHANNEL_WEIGHTS = [len(POOL[c]) for c in CHANNELS]
TEXTS = [item["text"] for items in POOL.values() for item in items]

# --- what the run observed, written at exit --------------------------------------------------------
SAMPLES: list[tuple[float, str, float, str]] = []  # (start epoch s, name, ms, error or "")
LEDGER: dict[str, Any] = {
    "stored": [],  # external ids the API answered "stored"
    "uncertain": [],  # ids of pushes that failed: stored or not, nobody knows
    "duplicates_sent": 0,  # re-sent ids in pushes that were answered
    "duplicates_answered": 0,
    "actions": 0,  # tasks run; a mention page may follow its cursor, a push may be retried
    "items_sent": 0,
    "replays": 0,
    "replays_identical": 0,
}
STORED_BY_CHANNEL: dict[str, list[dict[str, Any]]] = defaultdict(list)
SERIAL = iter(range(10**9))
CURSORS: Counter[str] = Counter()


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    exception: Exception | None,
    start_time: float,
    **_: Any,
) -> None:
    SAMPLES.append((start_time, name, response_time, "" if exception is None else str(exception)[:300]))


@events.quitting.add_listener
def _write(**_: Any) -> None:
    Path(CONFIG["results"]).write_text(json.dumps({"samples": SAMPLES, "ledger": LEDGER}), encoding="utf-8")


def _http_error(response: Any) -> str:
    """``HTTP <status>: <body>`` on one line; an HTML error page by its title."""
    body = " ".join((response.text or "").split())
    if "<title>" in body:
        body = body.split("<title>", 1)[1].split("</title>", 1)[0]
    return f"HTTP {response.status_code}: {body[:200]}"


def _next_item(channel: str, rng: random.Random) -> dict[str, Any]:
    """A corpus item of ``channel`` under a fresh external id, published in the last three hours."""
    pool = POOL[channel]
    item = dict(pool[CURSORS[channel] % len(pool)])
    CURSORS[channel] += 1
    item["external_id"] = f"{CONFIG['id_prefix']}{next(SERIAL)}"
    item["published_at"] = (datetime.now(UTC) - timedelta(seconds=rng.uniform(0, 3 * 3600))).isoformat()
    return item


class ListeningUser(FastHttpUser):
    wait_time = constant_throughput(CONFIG["rate"] / CONFIG["users"])

    def on_start(self) -> None:
        self.rng = random.Random()

    # --- dashboard reads -------------------------------------------------------------------------
    def _get(self, path: str, name: str) -> Any:
        with self.client.get(path, headers=HEADERS, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(_http_error(response))
                return None
            return response.json()

    @task(CONFIG["weights"]["metrics"])
    def metrics(self) -> None:
        LEDGER["actions"] += 1
        campaign = self.rng.choice(CONFIG["campaigns"])
        interval = "day" if self.rng.random() < 0.7 else "hour"
        self._get(f"/api/v1/campaigns/{campaign}/metrics/?interval={interval}", f"read: metrics ({interval})")

    @task(CONFIG["weights"]["comparisons"])
    def comparisons(self) -> None:
        LEDGER["actions"] += 1
        now = datetime.now(UTC)
        if self.rng.random() < 0.5:
            brands, since, name = (
                CONFIG["live_brands"],
                now - timedelta(days=7),
                "read: comparison (live, 7d)",
            )
        else:
            brands = self.rng.sample(CONFIG["brands"], 5)
            since = now - timedelta(days=self.rng.randint(30, 330))
            now, name = since + timedelta(days=30), "read: comparison (5 brands, 30d)"
        window = f"from={since:%Y-%m-%dT%H:%M:%SZ}&to={now:%Y-%m-%dT%H:%M:%SZ}"
        ids = ",".join(map(str, brands))
        self._get(f"/api/v1/comparisons/?brands={ids}&interval=day&{window}", name)

    @task(CONFIG["weights"]["mentions"])
    def mentions(self) -> None:
        LEDGER["actions"] += 1
        brand = self.rng.choice(CONFIG["brands"] + CONFIG["live_brands"])
        path, name = self.rng.choice(
            [
                ("/api/v1/mentions/?page_size=50", "read: mentions (organization)"),
                (f"/api/v1/mentions/?brand={brand}&page_size=50", "read: mentions (brand)"),
                (
                    f"/api/v1/mentions/?brand={brand}&sentiment=negative&page_size=50",
                    "read: mentions (brand, negative)",
                ),
            ]
        )
        page = self._get(path, name)
        if page and page.get("next") and self.rng.random() < 0.3:
            following = urlsplit(page["next"])
            self._get(f"{following.path}?{following.query}", "read: mentions (page 2)")

    @task(CONFIG["weights"]["brands"])
    def brands(self) -> None:
        LEDGER["actions"] += 1
        self._get("/api/v1/brands/", "read: brands")

    # --- ingestion -------------------------------------------------------------------------------
    @task(CONFIG["weights"]["ingest"])
    def ingest(self) -> None:
        LEDGER["actions"] += 1
        rng = self.rng
        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        size = rng.randint(max(1, CONFIG["batch"] // 2), CONFIG["batch"] * 3 // 2)
        batch: list[tuple[dict[str, Any], bool]] = []  # (item, re-sent on purpose)
        resent_ids: set[str] = set()
        for _ in range(size):
            earlier = STORED_BY_CHANNEL[channel]
            if earlier and rng.random() < CONFIG["duplicate_share"]:
                item = rng.choice(earlier)
                if item["external_id"] not in resent_ids:  # twice in one batch: its own duplicate
                    resent_ids.add(item["external_id"])
                    batch.append((item, True))
            else:
                batch.append((_next_item(channel, rng), False))
        body = {"source": CONFIG["sources"][channel], "items": [item for item, _ in batch]}
        headers = {**HEADERS, "Idempotency-Key": uuid.uuid4().hex}
        LEDGER["items_sent"] += len(batch)
        fresh = [item["external_id"] for item, dup in batch if not dup]
        answer = self._push(body, headers, batch, channel, "ingest: push")
        if answer is None:
            LEDGER["uncertain"] += fresh
            return
        if rng.random() < CONFIG["retry_share"]:
            LEDGER["replays"] += 1
            with self.client.post(
                "/api/v1/ingest",
                json=body,
                headers=headers,
                name="ingest: retry (same Idempotency-Key)",
                catch_response=True,
            ) as response:
                if response.status_code != 200:
                    response.failure(_http_error(response))
                elif response.json() != answer:
                    response.failure("a retry with the same Idempotency-Key got a different answer")
                else:
                    LEDGER["replays_identical"] += 1

    def _push(
        self,
        body: dict[str, Any],
        headers: dict[str, str],
        batch: list[tuple[dict[str, Any], bool]],
        channel: str,
        name: str,
    ) -> dict[str, Any] | None:
        with self.client.post(
            "/api/v1/ingest", json=body, headers=headers, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(_http_error(response))
                return None
            answer: dict[str, Any] = response.json()
            # Counted only for answered pushes: a failed push says nothing about its re-sent ids.
            LEDGER["duplicates_sent"] += sum(dup for _, dup in batch)
            outcomes = answer.get("items", [])
            wrong = []
            for (item, dup), outcome in zip(batch, outcomes, strict=False):
                expected = "duplicate" if dup else "stored"
                if outcome.get("status") != expected:
                    wrong.append(
                        f"{item['external_id']}: {outcome.get('status')} {outcome.get('reason', '')}"
                    )
                elif dup:
                    LEDGER["duplicates_answered"] += 1
                else:
                    LEDGER["stored"].append(item["external_id"])
                    STORED_BY_CHANNEL[channel].append(item)
            if len(outcomes) != len(batch):
                wrong.append(f"{len(outcomes)} outcomes for {len(batch)} items")
            if wrong:
                response.failure(f"unexpected outcomes ({len(wrong)}): {'; '.join(wrong[:3])}")
            return answer

    # --- ad-hoc scoring --------------------------------------------------------------------------
    @task(CONFIG["weights"]["analyze"])
    def analyze(self) -> None:
        LEDGER["actions"] += 1
        texts = self.rng.sample(TEXTS, self.rng.randint(1, 10))
        with self.client.post(
            "/api/v1/analyze",
            json={"texts": texts},
            headers=HEADERS,
            name="analyze: texts",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(_http_error(response))
            elif len(response.json().get("results", [])) != len(texts):
                response.failure("analyze answered a different number of results")
