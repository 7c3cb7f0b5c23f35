"""Cards of earlier `card_version`s in today's form: `contract.parse_card` runs `migrate` before validation."""

from __future__ import annotations

CARD_VERSION = 3
# Training options a card version stored and the next one removed, each with its off value: a card from
# before the removal loads once they are dropped, and one that turned an option on is refused, since no
# code is left to rebuild (or retrain) such a model. Version 3 removed five flags that measured no gain
# and were off in every shipped card (their runs: experiments/RECORD.md).
REMOVED = {
    1: (("shrink", 0.0), ("refit", False)),
    2: (("refit", False), ("local_forecasts", False), ("synthetic", 0.0), ("ema", 0.0), ("lead_input", False)),
}


def migrate(data: dict) -> dict:
    """A card of an earlier `card_version` (none: version 1) in today's form, one version step at a time.

    Each step drops the training options of `REMOVED` at their off value; an option that is on raises
    ValueError naming it. Version 1's candidates also stored `shrink`, dropped with it. A version this
    code does not know is left for validation to refuse.
    """
    version = 1 if data.get("card_version") is None else data["card_version"]
    if type(version) is not int or version not in REMOVED:
        return data
    data = {**data, "card_version": CARD_VERSION}
    if isinstance(data.get("hyperparameters"), dict):
        params = data["hyperparameters"] = dict(data["hyperparameters"])
        for step in range(version, CARD_VERSION):
            for key, off in REMOVED[step]:
                if params.pop(key, off) != off:
                    raise ValueError(
                        f"hyperparameters.{key} is on; card version {step + 1} removed that training option, "
                        "so this paxcast cannot serve or retrain the model"
                    )
    selection = data.get("selection")
    if version == 1 and isinstance(selection, dict):
        strip = lambda c: {k: v for k, v in c.items() if k != "shrink"} if isinstance(c, dict) else c  # noqa: E731
        data["selection"] = {
            **selection,
            "candidates": [strip(c) for c in selection.get("candidates", [])],
            "chosen": strip(selection.get("chosen")),
        }
    return data
