"""The caveats shown with a score, in English or French (``[caveats]`` of record_inputs.toml).

The texts, their placeholders and their sources live in the data file; this module decides
when each applies to a patient and a model (see docs/scores/from-record.md, "Caveats").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cvrisk import vocab
from cvrisk.errors import OptionError
from cvrisk.scores.base import RiskModel
from cvrisk.scores.from_record.lookup import Found
from cvrisk.scores.from_record.resolve import Resolver
from cvrisk.scores.from_record.results import Caveat, Evidence
from cvrisk.scores.from_record.tables import config

LANGS = ("en", "fr")


def check_lang(lang: str) -> None:
    """Raise :class:`~cvrisk.errors.OptionError` when no caveat text exists in ``lang``."""
    if lang not in LANGS:
        raise OptionError(f"lang={lang!r}: caveat texts exist in {', '.join(LANGS)}")


def value_text(value: Any, lang: str) -> str:
    """A value as a clinician reads it (booleans as yes/no, oui/non)."""
    if isinstance(value, bool):
        return {("en", True): "yes", ("en", False): "no", ("fr", True): "oui"}.get(
            (lang, value), "non"
        )
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def label(name: str, lang: str) -> str:
    """The name of input ``name`` in ``lang`` (``[labels]`` of record_inputs.toml), or the
    column id when no label is defined."""
    entry = config().get("labels", {}).get(name)
    return str(entry[lang]) if entry else name


def model_title(risk_model: RiskModel, lang: str) -> str:
    """The model's title in ``lang`` (``title_<lang>`` of its data file, else ``title``)."""
    return str(risk_model.data["model"].get(f"title_{lang}", risk_model.info.title))


def caveat(caveat_id: str, lang: str, **values: Any) -> Caveat:
    """Caveat ``caveat_id`` in ``lang``, its {placeholders} filled in with ``values``."""
    entry = config()["caveats"][caveat_id]
    return Caveat(caveat_id, entry[lang].format(**values), entry["source"])


def _present(flag: str, given: Mapping[str, Any], resolver: Resolver) -> bool:
    """True when ``given`` says so, or (when not given) the record holds evidence of it."""
    value = given.get(flag)
    return bool(value) if value is not None else isinstance(resolver.flag(flag), Found)


def patient_caveats(
    risk_model: RiskModel,
    resolver: Resolver,
    row: Mapping[str, Any],
    sources: Mapping[str, tuple[Evidence, ...]],
    given: Mapping[str, Any],
    lang: str,
) -> list[Caveat]:
    """The caveats about this model for this patient (SMI, indication, statin, diabetes, drugs).

    ``row`` and ``sources`` are the inputs found so far; ``given`` the caller's values.
    """
    info = risk_model.info
    caveats: list[Caveat] = []
    if not info.smi_term and _present("severe_mental_illness", given, resolver):
        title = model_title(risk_model, lang)
        caveats.append(caveat("smi_no_term", lang, title=title, model=info.id))
    bp = sources.get("bp_treated", ())
    indications = [
        set_id
        for set_id in config()["flags"]["bp_treated"].get("indication_conditions", ())
        if set_id in vocab.condition_sets()
    ]
    diagnosed = bool(indications) and bool(resolver.codes.conditions(indications))
    if row.get("bp_treated") is True and bp and bp[0].kind == "medication" and not diagnosed:
        caveats.append(caveat("bp_treated_indication", lang, value="; ".join(e.detail for e in bp)))
    for caveat_id, flag in (("statin_qrisk3", "statin"), ("score2_diabetes", "diabetes")):
        applies = info.id in config()["caveats"][caveat_id].get("models", ())
        if applies and _present(flag, given, resolver):
            caveats.append(caveat(caveat_id, lang, title=model_title(risk_model, lang)))
    caveats.extend(_onset_caveats(risk_model, resolver, row, sources, lang))
    caveats.extend(_egfr_equation(risk_model, resolver, sources, lang))
    uses_drugs = any(
        "medication_class" in config()["flags"].get(name, {}) for name in risk_model.inputs
    )
    count = resolver.codes.unclassified
    if uses_drugs and count:
        caveats.append(caveat("unclassified_medications", lang, count=count))
    return caveats


def _onset_caveats(
    risk_model: RiskModel,
    resolver: Resolver,
    row: Mapping[str, Any],
    sources: Mapping[str, tuple[Evidence, ...]],
    lang: str,
) -> list[Caveat]:
    """An age read from the earliest dated entry of a diagnosis while other entries of it
    have no onset date (the diagnosis may be older: caveat ``onset_undated``)."""
    out = []
    for name in config().get("onset_ages", {}):
        evidence = sources.get(name, ())
        if name not in risk_model.inputs or not evidence or evidence[0].kind != "condition":
            continue
        dated, undated = resolver.onset_entries(name)
        if dated and undated:
            out.append(
                caveat(
                    "onset_undated",
                    lang,
                    inputs=label(name, lang),
                    name=name,
                    value=value_text(row[name], lang),
                    date=dated[0].date,
                    count=len(undated),
                )
            )
    return out


def _egfr_equation(
    risk_model: RiskModel,
    resolver: Resolver,
    sources: Mapping[str, tuple[Evidence, ...]],
    lang: str,
) -> list[Caveat]:
    """The eGFR used is coded as an estimate from another equation than the model's."""
    entry = config()["caveats"]["egfr_equation"]
    if risk_model.info.id not in entry.get("models", ()):
        return []
    codes = set(entry.get("loinc", ()))
    for evidence in sources.get("egfr", ()):
        if evidence.kind != "observation" or evidence.index is None:
            continue
        observation = resolver.record.observations[evidence.index]
        if observation.code is not None and observation.code.strip() in codes:
            return [
                caveat(
                    "egfr_equation",
                    lang,
                    value=evidence.detail,
                    title=model_title(risk_model, lang),
                )
            ]
    return []
