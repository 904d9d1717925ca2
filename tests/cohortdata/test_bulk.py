"""FHIR Bulk Data: the synthetic cohort written as NDJSON and read back through the one FHIR
reader gives the native tables; every resource that cannot be placed is an issue."""

from __future__ import annotations

import gzip
import json
import shutil

import pandas as pd
import pytest

from cvrisk import vocab
from cvrisk.cohort.bulk import BulkError, read_bulk
from cvrisk.cohort.synth import synthesize
from cvrisk.cohort.synth_fhir import RESOURCE_TYPES, write_fhir
from cvrisk.errors import OptionError


@pytest.fixture(scope="module")
def cohort():
    return synthesize(150, seed=11)


@pytest.fixture(scope="module")
def export(cohort, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bulk")
    write_fhir(cohort, folder)
    return folder


@pytest.fixture(scope="module")
def read(export):
    return read_bulk(export)


def _analytes(frame):
    return [
        a if isinstance(a, str) else vocab.analyte_for_code(c, "loinc")
        for a, c in zip(frame["analyte"], frame["code"], strict=True)
    ]


def test_files_and_manifest(export, cohort):
    manifest = json.loads((export / "manifest.json").read_text())
    assert [o["type"] for o in manifest["output"]] == list(RESOURCE_TYPES)
    counts = {o["type"]: o["count"] for o in manifest["output"]}
    assert counts["Patient"] == len(cohort.patients)
    assert counts["Observation"] == len(cohort.observations)
    for kind in RESOURCE_TYPES:
        lines = (export / f"{kind}.ndjson").read_text().splitlines()
        assert len(lines) == counts[kind]
        assert all(json.loads(line)["resourceType"] == kind for line in lines)


def test_round_trip_gives_the_native_tables(read, cohort):
    native = cohort.tables()
    assert read.warnings()["kind"].isin(["ignored"]).all()  # only US race without QRISK3 group
    p, np_ = read.tables["patients"], native["patients"]
    assert list(p["patient_id"]) == list(np_["patient_id"].astype(str))
    assert (p["sex"].to_numpy() == np_["sex"].astype(str).to_numpy()).all()
    assert (p["birth_date"].to_numpy() == np_["birth_date"].to_numpy()).all()
    gb = cohort.sites["country"].astype(str).to_numpy() == "GB"
    assert (p["ethnicity"][gb].to_numpy() == np_["ethnicity"][gb].astype(str).to_numpy()).all()
    us = cohort.sites["country"].astype(str).to_numpy() == "US"
    assert (p["race"][us].to_numpy() == np_["race"][us].astype(str).to_numpy()).all()
    c, nc = read.tables["conditions"], native["conditions"]
    assert len(c) == len(nc)
    assert sorted(zip(c["patient_id"], c["code"], c["onset"], strict=True)) == sorted(
        zip(nc["patient_id"].astype(str), nc["code"].astype(str), nc["onset"], strict=True)
    )
    m, nm = read.tables["medications"], native["medications"]
    assert len(m) == len(nm)
    left = sorted(
        zip(
            m["patient_id"],
            m["start"],
            m["stop"].fillna(pd.Timestamp("2200-01-01")),
            m["route"],
            strict=True,
        )
    )
    right = sorted(
        zip(
            nm["patient_id"].astype(str),
            nm["start"],
            nm["stop"].fillna(pd.Timestamp("2200-01-01")),
            nm["route"].astype(str),
            strict=True,
        )
    )
    assert left == right
    assert set(m["id"].str.split("/").str[0]) == {"MedicationRequest"}
    o, no = read.tables["observations"], native["observations"]
    assert len(o) == len(no)
    mine = sorted(
        zip(
            o["patient_id"],
            _analytes(o),
            o["date"],
            o["value"].fillna(-1),
            o["unit"].fillna(""),
            o["coded"].fillna(""),
            strict=True,
        )
    )
    theirs = sorted(
        zip(
            no["patient_id"].astype(str),
            _analytes(no),
            no["date"],
            no["value"].fillna(-1),
            no["unit"].astype(object).fillna(""),
            no["coded"].astype(object).fillna(""),
            strict=True,
        )
    )
    assert mine == theirs


def test_parallel_partitions_give_the_same_tables(export, read, monkeypatch):
    import cvrisk.cohort.bulk as bulk

    monkeypatch.setattr(bulk, "PARTITION_BYTES", 20_000)  # many partitions
    parallel = read_bulk(export, workers=2)
    for name in read.tables:
        a = (
            read.tables[name]
            .sort_values(list(read.tables[name].columns[:2]))
            .reset_index(drop=True)
        )
        b = (
            parallel.tables[name]
            .sort_values(list(read.tables[name].columns[:2]))
            .reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(a, b)


def test_resources_that_cannot_be_placed_are_issues(export, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(export, folder)
    (folder / "manifest.json").unlink()
    extra = [
        "not json",
        json.dumps({"resourceType": "Observation", "id": "orphan", "status": "final"}),
        json.dumps(
            {
                "resourceType": "Observation",
                "id": "ghost",
                "status": "final",
                "subject": {"reference": "Patient/nobody"},
            }
        ),
        json.dumps({"resourceType": "Patient", "id": "nogender", "birthDate": "1980-01-01"}),
        json.dumps([1, 2]),
    ]
    with gzip.open(folder / "Extra.ndjson.gz", "wt") as handle:
        handle.write("\n".join(extra) + "\n")
    read = read_bulk(folder)
    messages = " | ".join(read.issues["message"])
    assert "Extra.ndjson.gz line 1 could not be read: not JSON" in messages
    assert "Observation/orphan (Extra.ndjson.gz line 2) names no patient" in messages
    assert "name Patient/nobody, which is not in the export" in messages
    assert "Patient/nogender could not be read and is left out" in messages
    assert "line 5 could not be read: not a FHIR resource" in messages
    assert "nogender" not in set(read.tables["patients"]["patient_id"])


def test_errors_are_typed(tmp_path):
    with pytest.raises(BulkError, match="not a folder"):
        read_bulk(tmp_path / "missing")
    with pytest.raises(BulkError, match=r"holds no \.ndjson"):
        read_bulk(tmp_path)
    (tmp_path / "manifest.json").write_text('{"output": [{"url": "Patient.ndjson"}]}')
    with pytest.raises(BulkError, match="not in the folder"):
        read_bulk(tmp_path)
    (tmp_path / "manifest.json").write_text("[]")
    with pytest.raises(BulkError, match="not a Bulk Data completion manifest"):
        read_bulk(tmp_path)
    with pytest.raises(OptionError):
        read_bulk(tmp_path, workers=0)
    with pytest.raises(OptionError):
        read_bulk(tmp_path, on_invalid="skip")  # type: ignore[arg-type]
