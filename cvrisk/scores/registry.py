"""Which risk models exist, and where their code lives.

Each module listed here defines one or more :class:`~cvrisk.scores.base.RiskModel`
subclasses; a model is found by its ``id``. Modules are imported on first use.
"""

from __future__ import annotations

import importlib
from functools import cache

from cvrisk.errors import UnknownModelError, quoted
from cvrisk.scores.base import RiskModel

#: model id -> module defining it
MODEL_MODULES: dict[str, str] = {
    "pce": "cvrisk.scores.pce",
    "prevent": "cvrisk.scores.prevent",
    "qrisk3": "cvrisk.scores.qrisk3",
    "score2": "cvrisk.scores.score2",
    "score2-op": "cvrisk.scores.score2",
    "score2-diabetes": "cvrisk.scores.score2_diabetes",
    "framingham": "cvrisk.scores.framingham",
    "framingham-bmi": "cvrisk.scores.framingham",
}


def _subclasses(base: type[RiskModel]) -> list[type[RiskModel]]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def get_model(model_id: str) -> RiskModel:
    """The (shared, immutable) model instance for ``model_id``.

    Raises:
        UnknownModelError: no model has that id (or the id is not a string).
    """
    if not isinstance(model_id, str) or model_id not in MODEL_MODULES:
        raise UnknownModelError(
            f"no risk model {quoted(model_id)}; available: {', '.join(sorted(MODEL_MODULES))}"
        )
    return _model(model_id)


@cache
def _model(model_id: str) -> RiskModel:
    module = MODEL_MODULES[model_id]
    importlib.import_module(module)
    for cls in _subclasses(RiskModel):
        if getattr(cls, "id", None) == model_id:
            return cls()
    raise UnknownModelError(f"module {module} defines no model with id {model_id!r}")


def available() -> list[str]:
    """Ids of the models whose code is importable."""
    ids = []
    for model_id, module in MODEL_MODULES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        ids.append(model_id)
    return ids
