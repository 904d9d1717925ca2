"""cvrisk: physical-health decision support for people with severe mental illness.

The public face is small:

- :func:`score` and :func:`models`: cardiovascular risk scores over whole cohorts.
- :func:`evaluate`: a patient record in, required tests with due dates and alerts out.
- :func:`schedule`: the prescribing prompt for a drug (baseline checklist and follow-ups).
- :func:`protocols`: the shipped monitoring protocols.
- :func:`summarize`: a shared summary (clinician or patient; HTML, PDF, FHIR, Markdown).
- :class:`PatientRecord`: the record format; :mod:`cvrisk.errors`: the exceptions.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from cvrisk import _readers
from cvrisk._version import __version__
from cvrisk.errors import CvriskError

# Readers of other input formats are adapters above the core, registered by dotted path (the
# core never imports them; each is imported the first time an input of its kind is read).
_readers.register_reader("fhir", "cvrisk.fhir:read_fhir")

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cvrisk.record import PatientRecord
    from cvrisk.rules.report import Plan, Report
    from cvrisk.rules.schema import ProtocolInfo
    from cvrisk.scores import ModelInfo


# score() and models() import the scores package (and numpy) on first call, so that
# ``import cvrisk`` and ``cvrisk --version`` stay fast (docs/performance.md).
def score(
    model: str,
    data: Any,
    *,
    errors: str = "raise",
    units: Mapping[str, str] | None = None,
    reasons: bool = False,
    **options: Any,
) -> Any:
    """Predicted risk of ``model`` for every row of ``data``, as a probability in [0, 1]: a
    pandas Series on a DataFrame's index, a numpy array for mappings and lists of rows, a
    lazy Dask Series for a Dask DataFrame; with ``reasons=True`` a DataFrame of ``risk`` and
    ``problems``.

    See :func:`cvrisk.scores.score` for the arguments.
    """
    from cvrisk.scores import score as _score

    return _score(model, data, errors=errors, units=units, reasons=reasons, **options)


def models() -> dict[str, ModelInfo]:
    """The available models, id -> metadata. See :func:`cvrisk.scores.models`."""
    from cvrisk.scores import models as _models

    return _models()


def evaluate(
    record: Any,
    *,
    as_of: dt.date | str | None = None,
    protocols: list[str] | None = None,
    jurisdiction: str | None = None,
    lang: str = "en",
    scores: list[str] | None = None,
    score_inputs: dict[str, dict[str, Any]] | None = None,
    record_complete: bool = False,
    on_invalid: Literal["raise", "report"] = "raise",
    strict: bool = False,
) -> Report:
    """Required tests, due dates and alerts for one patient record (native or FHIR).

    See :func:`cvrisk.rules.evaluate.evaluate`.
    """
    from cvrisk.rules.evaluate import evaluate as _evaluate

    return _evaluate(
        record,
        as_of=as_of,
        protocols=protocols,
        jurisdiction=jurisdiction,
        lang=lang,
        scores=scores,
        score_inputs=score_inputs,
        record_complete=record_complete,
        on_invalid=on_invalid,
        strict=strict,
    )


def schedule(
    drug: str,
    start: dt.date,
    *,
    protocol: str | None = None,
    patient: Any = None,
    jurisdiction: str | None = None,
    lang: str = "en",
) -> Plan:
    """The prescribing prompt: baseline checklist and every follow-up date for ``drug``.

    See :func:`cvrisk.rules.plan.schedule`.
    """
    from cvrisk.rules.plan import schedule as _schedule

    return _schedule(
        drug, start, protocol=protocol, patient=patient, jurisdiction=jurisdiction, lang=lang
    )


def summarize(
    source: Any,
    *,
    record: Any = None,
    audience: Literal["clinician", "patient"] = "clinician",
    lang: str | None = None,
    format: Literal["html", "pdf", "fhir", "markdown"] = "html",
    **evaluate_options: Any,
) -> str | bytes | dict[str, Any]:
    """A shared summary for the GP and the psychiatrist, or for the patient: HTML (str), PDF
    (bytes), a FHIR document Bundle (dict) or Markdown (str). ``source`` is a record
    (evaluated with ``evaluate_options``) or a Report with ``record=``.

    See :func:`cvrisk.summary.summarize` (needs ``cvrisk[summary]``).
    """
    from cvrisk.summary import summarize as _summarize

    return _summarize(
        source, record=record, audience=audience, lang=lang, format=format, **evaluate_options
    )


def protocols(lang: str = "en") -> dict[str, ProtocolInfo]:
    """Ids and metadata of the shipped protocols (titles in ``lang``: ``en`` or ``fr``)."""
    from cvrisk.rules.catalog import protocol_infos

    return protocol_infos(lang)


__all__ = [
    "CvriskError",
    "PatientRecord",
    "__version__",
    "evaluate",
    "models",
    "protocols",
    "schedule",
    "score",
    "summarize",
]


def __getattr__(name: str) -> Any:
    """``cvrisk.PatientRecord`` on first use: ``import cvrisk`` stays light (the record
    models load pydantic, about a third of a second on a slow machine)."""
    if name == "PatientRecord":
        from cvrisk.record import PatientRecord

        return PatientRecord
    raise AttributeError(f"module 'cvrisk' has no attribute {name!r}")
