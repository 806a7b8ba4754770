"""The close pack as one self-contained HTML page, from the Jinja2 template kept beside this module (Jinja2
comes with Dagster). The style sheet is inlined and the charts are inline SVG: the page fetches nothing."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ml_connector.close_pack.charts import bar_chart
from ml_connector.close_pack.data import PackData
from ml_connector.close_pack.format import money


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("ml_connector.close_pack", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=False, lstrip_blocks=False)
    env.filters["money"] = money
    return env


def render_html(pack: PackData) -> str:
    css = files("ml_connector.close_pack").joinpath("templates/pack.css").read_text(encoding="utf-8")
    charts = [{"series": series, "svg": bar_chart(series)} for series in pack.charts]
    return _environment().get_template("pack.html.j2").render(pack=pack, css=css, charts=charts)
