"""Self-contained HTML pages for both summaries (Jinja2 templates, inline CSS and SVG).

Jinja2 (an optional dependency, ``cvrisk[summary]``) keeps the page structure in template
files beside this module rather than in Python strings, and escapes every inserted text by
default (a record's free text cannot inject markup). Values that carry their own markup
(:class:`~cvrisk.summary.values.Num`, ``Day``, ``Quote``, ``Text``) are inserted through
their ``__html__``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from markupsafe import Markup

from cvrisk.summary import svg
from cvrisk.summary.clinician import ClinicianView
from cvrisk.summary.patient import PatientView
from cvrisk.summary.texts import label, page_text


@cache
def _environment() -> Any:
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - depends on the installation
        from cvrisk.errors import CvriskError

        raise CvriskError("HTML summaries need Jinja2: pip install 'cvrisk[summary]'") from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cvrisk.summary", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        L=label,
        P=page_text,
        line_chart=svg.line_chart,
        timeline=svg.timeline,
        icon_array=svg.icon_array,
        legend_marker=svg.legend_marker,
        threshold_key=svg.threshold_key,
        css=_css,
    )
    return env


@cache
def _css(name: str) -> Markup:
    """A stylesheet of the templates folder, inserted as is (it is package data, not input)."""
    text = resources.files("cvrisk.summary").joinpath("templates", name).read_text("utf-8")
    return Markup(text)


def clinician_html(view: ClinicianView) -> str:
    """The clinician summary as one self-contained HTML page (A4 print stylesheet)."""
    return str(_environment().get_template("clinician.html.j2").render(v=view))


def patient_html(view: PatientView) -> str:
    """The patient summary as one self-contained HTML page."""
    return str(_environment().get_template("patient.html.j2").render(v=view))
