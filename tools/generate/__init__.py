"""Generators of what the repository commits or CI scans, each `python -m tools.generate.<name>`:
`config_schema` (Pulumi.yaml's config section), `chart_schema` (the chart's values schema and
README table), `chart_manifests` (the chart rendered per stack), `dashboards` (docs/dashboards/
pictures), `crds` (vendor/crds/, fetched and verified)."""
