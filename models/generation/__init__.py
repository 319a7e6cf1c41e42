"""Reply generation with a decoder LLM: prompts, sampling and scoring, guard rails. No Django.

``prompt`` and ``guards`` are pure (no torch), so the web process and tests may use them; only
``decoder`` loads a model.
"""
