"""Quality measures over cohort tables (``cvrisk[cohort]``; docs/measures.md).

- :func:`measure`: SSD, SMD, SMC and APM (HEDIS; CMS Core Set SSD-AD, APM-CH) for a
  measurement year, with the denominator, exclusions and numerator of every patient and why;
- :func:`rates_by`: the rates with Wilson 95 % intervals, overall or by age band, sex, site,
  protocol or any patient-level column; :func:`wilson`: the interval itself.

The criteria and their public sources are data (``cvrisk/data/measures.toml``); the code
lists approximate NCQA's licensed value sets with cvrisk's own vocabularies.
"""

from __future__ import annotations

from cvrisk.measures.hedis import MEASURES, MeasureResult, definitions, measure
from cvrisk.measures.rates import age_band, rates_by, wilson

__all__ = ["MEASURES", "MeasureResult", "age_band", "definitions", "measure", "rates_by", "wilson"]
