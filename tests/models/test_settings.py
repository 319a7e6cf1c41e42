from __future__ import annotations

import pytest

from models.settings import ModelSettings, ModelSettingsError


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LISTENING_TORCH_THREADS", "two"),
        ("LISTENING_TORCH_THREADS", "-1"),
        ("LISTENING_MODEL_DTYPE", "float8"),
        ("LISTENING_MODEL_QUANTIZE", "int4"),
        ("LISTENING_MAX_LENGTH", "4"),
    ],
)
def test_malformed_settings_fail_loudly(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ModelSettingsError, match=name):
        ModelSettings.from_env()


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTENING_TORCH_THREADS", "3")
    monkeypatch.setenv("LISTENING_MODEL_DTYPE", "FLOAT32")
    monkeypatch.setenv("LISTENING_MAX_LENGTH", "64")
    settings = ModelSettings.from_env()
    assert (settings.torch_threads, settings.dtype, settings.max_length) == (3, "float32", 64)
