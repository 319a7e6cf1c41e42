"""The training service: datasets in, a saved model version directory out. No Django.

- :mod:`models.training.config`: :class:`TrainingConfig` (LISTENING_TRAIN_* variables);
- :mod:`models.training.data`: examples by kind, preferences, raw text; feedback caps,
  pseudo-labels, replay sample;
- :mod:`models.training.trainer`: :func:`train_cycle` (resumable, progress bar, per-step logs);
- :mod:`models.training.evaluate`: metrics of a version on labelled slices;
- :mod:`models.training.gate`: the promotion rule.

``python -m models.training --help`` runs a cycle from files (a GPU host needs nothing else).
"""
