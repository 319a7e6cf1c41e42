"""The language model: backbones, heads, batched inference, evaluation, model versions. No Django.

See models/README.md. Importing this package imports nothing heavy.
"""
