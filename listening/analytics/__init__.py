"""Analytics: rollups, campaign metrics, brand comparisons, topics and audience affinities.

Public entry points
-------------------
* ``services.do_fold_readings(mention_ids, earlier)``: enrichment calls it (through
  ``mentions_enriched``) in the transaction that writes a batch's readings: mentions read for the
  first time are added, those read again move to their new labels. Cost is proportional to the
  batch. The rollups count read mentions only.
* ``services.do_update_rollups(mention_ids)``: recomputes (never increments) every rollup of the
  UTC days those mentions fall in, for each brand and campaign they belong to: idempotent, the
  reference the fold is tested against. Cost is proportional to those subjects' mentions on those days.
* ``services.do_rebuild_rollups(organization_id=None)`` / ``manage.py rebuild_rollups [--org ID]``:
  everything from scratch (also drops counts of deleted mentions, which the incremental path cannot
  see once their links are gone).
* ``services.do_build_affinities(brand_id, now=None, seed=0)``: one audience-clustering run, stored
  as a new ``AffinityRun`` version; ``analytics.build_all_affinities`` runs nightly on ``reports``.
* ``queries.campaign_metrics``, ``queries.brand_comparison``, ``topic_queries.brand_topics`` and
  ``affinities.brand_affinities``: what the endpoints in ``api/analytics.py`` answer, in the shapes
  of ``answers``; dashboards' counts come from rollups only.
* ``provenance.model_provenance(scope, subject_ids, organization_id, start, end)``: the ``model``
  block each of those answers (and each affinity run) carries: which versions produced its numbers
  and how far the history re-read after a promotion has got, from the ``*VersionDay`` rollup.

``vocabulary`` holds what writes and reads share (``Scope``, bucket floors, ``author_key``,
``net_sentiment``); ``audiences`` clusters and describes one brand's audience without Django.

Storage choices are documented on the models (``models.py``): exact per-hour author sets for unique
authors, per-day term document frequencies for terms and themes.
"""
