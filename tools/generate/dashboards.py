"""Draws each provisioned Grafana dashboard's layout to docs/dashboards/<name>.png: every
panel where Grafana puts it, with its title, kind and queries, so a reader of docs/ sees
what they will get without running Grafana.

    .venv/bin/python -m tools.generate.dashboards
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "components/operations/dashboards"
OUT = ROOT / "docs/dashboards"
COLUMN, ROW, MARGIN = 50, 30, 6  # pixels per Grafana grid unit (24 columns)
COLOURS = {"timeseries": "#1f60c4", "stat": "#37872d", "piechart": "#8f3bb8"}


def render(board: dict[str, object], path: Path) -> None:
    panels = board["panels"]
    assert isinstance(panels, list)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    image = Image.new("RGB", (24 * COLUMN + 2 * MARGIN, rows * ROW + 40), "#111217")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, 10), str(board["title"]), fill="#ffffff")
    for panel in panels:
        grid = panel["gridPos"]
        left, top = MARGIN + grid["x"] * COLUMN, 30 + grid["y"] * ROW
        right, bottom = left + grid["w"] * COLUMN - MARGIN, top + grid["h"] * ROW - MARGIN
        source = panel["datasource"]["type"]
        colour = "#ff9830" if source == "cloudwatch" else COLOURS.get(panel["type"], "#888888")
        draw.rectangle((left, top, right, bottom), fill="#181b1f", outline=colour, width=2)
        draw.text((left + 8, top + 6), panel["title"], fill="#ffffff")
        draw.text((left + 8, top + 22), f"{panel['type']} · {source}", fill=colour)
        width = max(20, (right - left - 16) // 6)
        y = top + 42
        for target in panel["targets"]:
            query = target.get("expr") or f"{target['namespace']} {target['metricName']}"
            for line in textwrap.wrap(query, width)[:4]:
                if y > bottom - 14:
                    break
                draw.text((left + 8, y), line, fill="#9fa7b3")
                y += 13
    image.save(path)


def main(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(DASHBOARDS.glob("*.json")):
        target = out / f"{source.stem}.png"
        render(json.loads(source.read_text()), target)
        print(target)
        written.append(target)
    return written


if __name__ == "__main__":
    main()
