"""Cohort adapters above the core (``cvrisk[cohort]``): readers of cohort sources into the
cohort tables (docs/cohort.md) and the synthetic cohort.

- :mod:`cvrisk.cohort.synth`: a synthetic cohort (``cvrisk synth``), written as native
  tables, FHIR Bulk Data NDJSON (:mod:`~cvrisk.cohort.synth_fhir`) and OMOP CDM v5.4
  (:mod:`~cvrisk.cohort.synth_omop`);
- :mod:`cvrisk.cohort.omop`: OMOP CDM v5.3/v5.4 databases (DuckDB, SQL connections,
  Parquet/CSV folders) into the cohort tables;
- :mod:`cvrisk.cohort.bulk`: FHIR Bulk Data ``$export`` folders into the cohort tables.
"""
