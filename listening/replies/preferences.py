"""Analysts' rankings of suggestions as preference pairs for the reply cycle's DPO phase."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # tuning imports torch; this module stays importable by the web process
    from models.generation.tuning import PreferenceExample


def preference_examples(organization_id: int) -> list[PreferenceExample]:
    """The organization's preference pairs not yet trained on (chosen: the text sent or picked;
    rejected: a suggestion ranked below it), with the prompt the suggestions were drafted from.

    None yet: the ranking API (branch ``replyrank``) fills this from analysts' rankings. The reply
    cycle pins whatever this returns on its first start and runs DPO when it is not empty.
    """
    return []
