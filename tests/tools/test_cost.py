"""The cost estimator (`python -m tools.cost`): lines, totals, --json, --diff, usage files,
the SPEC §8 reproduction and the budget of the defaults."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulumi_offline import OfflineRun
from tools.cost import prices, usage
from tools.cost.__main__ import main, preview_document
from tools.cost.estimate import Estimate, difference, estimate
from tools.cost.levers import X86_GENERAL_POOL
from tools.cost.levers import documents as documents_with
from tools.cost.lines import Line
from tools.cost.report import money
from tools.cost.rules import storage_class_shares
from tools.preview import as_json

HOURS = 730
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
SERVERLESS = "aws:elasticache/serverlessCache:ServerlessCache"


def price_of(documents: list[dict[str, Any]], usage_file: Path | None = None) -> Estimate:
    return estimate(documents, usage.load(usage_file), prices.load(), preview_document)


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return [preview_document(stack) for stack in ("shared", "dev", "prod")]


@pytest.fixture(scope="module")
def defaults(documents: list[dict[str, Any]]) -> Estimate:
    return price_of(documents)


def lines_of(result: Estimate, stack: str, resource: str, what: str = "") -> list[Line]:
    """The lines of a resource; `what` narrows them to an item prefix or a type token."""
    found = [
        line
        for line in result.lines
        if line.stack == stack
        and line.resource == resource
        and (line.item.startswith(what) or line.type == what)
    ]
    assert found, f"no line {stack}/{resource}/{what}"
    return found


def monthly(result: Estimate, stack: str, resource: str, what: str = "") -> float:
    return round(sum(line.monthly for line in lines_of(result, stack, resource, what)), 2)


# --- the estimator ------------------------------------------------------------------------


def test_cli_prints_a_line_per_charge_subtotals_and_the_total(
    capsys: pytest.CaptureFixture[str], defaults: Estimate
) -> None:
    assert main(["shared", "dev", "prod"]) == 0
    out = capsys.readouterr().out
    assert "pingvas-shared-eks" in out
    assert "control plane" in out
    for stack, amount in defaults.by_stack().items():
        assert f"subtotal {stack}: {money(amount)}" in out
    assert "by service:" in out
    assert f"total: {money(defaults.total)} a month" in out
    # Autoscaled things show both bounds (Aurora 0.5-4 ACU at $0.12 for 730 h).
    assert "[min $43.80, max $350.40]" in out


def test_json_holds_every_line_and_a_total_that_adds_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shared", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["hoursPerMonth"] == HOURS
    assert isinstance(document["total"], float)
    assert document["total"] == pytest.approx(sum(line["monthly"] for line in document["lines"]))
    eks = next(line for line in document["lines"] if line["type"] == "eks:index:Cluster")
    assert (eks["quantity"], eks["unitPrice"], eks["units"], eks["monthly"]) == (1, 0.1, 730, 73.0)
    assert eks["assumption"]
    assert eks["priceKey"] == "eks/cluster-standard-support"
    assert document["subtotals"]["services"]["EKS"] == 73.0


def test_every_resource_is_priced_free_elsewhere_or_listed_as_not_priced(
    documents: list[dict[str, Any]], defaults: Estimate
) -> None:
    resources = [
        r
        for document in documents
        for r in document["resources"]
        if not r["type"].startswith(("pingvas:", "pulumi:"))
    ]
    accounted = {(line.stack, line.resource, line.type) for line in defaults.lines}
    accounted |= {(e.stack, e.resource, e.type) for e in defaults.unpriced}
    for document in documents:
        for r in document["resources"]:
            if r in resources:
                assert (document["stack"], r["name"], r["type"]) in accounted, r["name"]
    free = {e.type for e in defaults.unpriced if e.status == "free"}
    assert {"aws:iam/role:Role", "aws:acm/certificate:Certificate"} <= free
    # Every charge has a price (issue 26): AWS Backup and GuardDuty included.
    assert defaults.not_priced == []


def test_an_unknown_type_is_listed_as_not_priced_never_as_zero(
    documents: list[dict[str, Any]],
) -> None:
    shared = copy.deepcopy(documents[0])
    shared["resources"].append(
        {
            "urn": "urn:pulumi:shared::pingvas::aws:sagemaker/endpoint:Endpoint::inference",
            "type": "aws:sagemaker/endpoint:Endpoint",
            "name": "inference",
            "id": "endpoint-1",
            "parent": None,
            "inputs": {},
        }
    )
    result = price_of([shared])
    assert [(e.resource, e.status) for e in result.unpriced if e.resource == "inference"] == [
        ("inference", "not priced")
    ]
    assert result.total == price_of([documents[0]]).total


def test_alarms_and_plain_instances_are_priced(documents: list[dict[str, Any]]) -> None:
    shared = copy.deepcopy(documents[0])
    for type_token, name, inputs in (
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "queue-depth", {"metricName": "x"}),
        ("aws:ec2/instance:Instance", "bastion", {"instanceType": "t3.medium"}),
    ):
        shared["resources"].append(
            {"urn": f"urn:{name}", "type": type_token, "name": name, "id": name, "inputs": inputs}
        )
    result = price_of([shared])
    assert monthly(result, "shared", "queue-depth") == 0.10
    assert monthly(result, "shared", "bastion") == round(0.0416 * HOURS, 2)


def test_usage_file_overrides_and_autoscaled_usage_is_bounded_by_the_config(
    tmp_path: Path, documents: list[dict[str, Any]]
) -> None:
    usage_file = tmp_path / "usage.yaml"
    usage_file.write_text(
        "platform:\n  auroraAcuAverage: 10\n  images:\n"
        "    - {model: sd15, size: 512, steps: 30, perMonth: 100000000}\n"
    )
    result = price_of([documents[0]], usage_file)
    writer = lines_of(result, "shared", "pingvas-shared-aurora-writer")[0]
    assert writer.quantity == 4  # maxCapacity, not the 10 asked for
    assert writer.bounds == (round(0.5 * 0.12 * HOURS, 2), round(4 * 0.12 * HOURS, 2))
    gpu = lines_of(result, "shared", "pingvas-shared-karpenter-gpu-g4dn-xlarge-pool", "GPU")[0]
    # 100 M images would need ~150 nodes: priced at the pool's GPU limit (dev 3 + prod 15).
    assert gpu.quantity == 18
    assert writer.assumption.startswith("4 (usage asks 10; bounded) ACU on average")


def test_a_bad_usage_file_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usage_file = tmp_path / "usage.yaml"
    usage_file.write_text("platform:\n  gpuNodesAverag: 3\n  ecrGb: -1\n")
    assert main(["shared", "--usage", str(usage_file)]) == 2
    error = capsys.readouterr().err
    assert "usage platform.gpuNodesAverag: Extra inputs are not permitted" in error
    assert "usage platform.ecrGb: Input should be greater than or equal to 0" in error


def test_diff_prices_each_changed_resource_and_the_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stack_with: Callable[..., OfflineRun]
) -> None:
    # The base ran dev on a node-based cache.r6g.large and had no CDN yet; dev now runs
    # a serverless cache (decision 0117): one resource gone, one added, under one name.
    node_based = {"pingvas:redis": {"mode": "standalone", "nodeType": "cache.r6g.large"}}
    base = as_json(stack_with("dev", node_based))
    base["resources"] = [r for r in base["resources"] if r["name"] != "pingvas-dev-cdn"]
    base_file = tmp_path / "base.json"
    base_file.write_text(json.dumps(base))
    assert main(["dev", "--diff", str(base_file), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    by_type = {(change["resource"], change["type"]): change for change in document["changes"]}
    before = monthly(price_of([base]), "dev", "pingvas-dev-redis", CACHE)
    after = monthly(price_of([preview_document("dev")]), "dev", "pingvas-dev-redis", SERVERLESS)
    assert before >= round(0.1648 * HOURS, 2) > after  # an r6g.large is dearer than the default
    gone = by_type[("pingvas-dev-redis", CACHE)]
    assert (gone["change"], gone["before"], gone["after"]) == ("-", before, 0)
    added = by_type[("pingvas-dev-redis", SERVERLESS)]
    assert (added["change"], added["before"], added["after"]) == ("+", 0, after)
    assert added["delta"] == after
    changes = {change["resource"]: change for change in document["changes"]}
    assert changes["pingvas-dev-cdn"]["change"] == "+"
    assert document["delta"] == pytest.approx(document["after"] - document["before"], abs=0.01)
    assert document["delta"] == pytest.approx(
        sum(change["delta"] for change in document["changes"]), abs=0.01
    )
    assert main(["dev", "--diff", str(base_file)]) == 0
    assert "- dev: pingvas-dev-redis" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"summary": {}}', "not the output of `python -m tools.preview STACK --json`"),
        ("[1, 2]", "not the output of"),
        ("{not json", "Expecting property name"),
    ],
)
def test_a_base_that_is_not_a_preview_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, says: str
) -> None:
    base_file = tmp_path / "base.json"
    base_file.write_text(content)
    assert main(["dev", "--diff", str(base_file)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: --diff {base_file}: ")
    assert says in error


def test_a_base_of_another_stack_is_refused_naming_both_and_deletions_are_priced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24: a base of dev priced against prod was a KeyError traceback."""
    base_file = tmp_path / "base.json"
    base_file.write_text(json.dumps(preview_document("dev")))
    assert main(["prod", "--diff", str(base_file)]) == 2
    error = capsys.readouterr().err
    assert "BASE is a preview of pingvas/dev, not of pingvas/prod" in error
    assert "Traceback" not in error
    # Control: a base of the same stack diffs (and its deletions price: that KeyError).
    base_file.write_text(json.dumps(preview_document("dev")))
    assert main(["dev", "--diff", str(base_file)]) == 0
    head = price_of([preview_document("dev")])
    retired = dataclasses.replace(head.lines[0], urn=head.lines[0].urn + "-retired")
    base = dataclasses.replace(head, lines=[*head.lines, retired])
    (deleted,) = difference(base, head)
    assert (deleted.kind, deleted.before, deleted.after) == ("-", retired.monthly, 0.0)


def test_storage_classes_follow_the_lifecycle_of_a_bucket_filled_evenly() -> None:
    rules = [
        {
            "status": "Enabled",
            "filter": {"prefix": ""},
            "transitions": [
                {"days": 90, "storageClass": "STANDARD_IA"},
                {"days": 180, "storageClass": "GLACIER_IR"},
            ],
        }
    ]
    shares = storage_class_shares(rules, 12)
    assert shares == pytest.approx(
        {"STANDARD": 90 / 365, "STANDARD_IA": 90 / 365, "GLACIER_IR": 185 / 365}
    )
    expiring = [{"status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 30}}]
    assert storage_class_shares(expiring, 12) == {"STANDARD": 1.0}
    # The models bucket moves everything to Intelligent-Tiering on day 0.
    tiering = [
        {"status": "Enabled", "transitions": [{"days": 0, "storageClass": "INTELLIGENT_TIERING"}]}
    ]
    assert storage_class_shares(tiering, 12) == {"INTELLIGENT_TIERING": 1.0}


def test_gpu_cost_per_1000_images_comes_from_the_price_and_a_cited_rate(defaults: Estimate) -> None:
    costs = {cost.instance_type: cost for cost in defaults.gpu_image_costs}
    t4 = costs["g4dn.xlarge"]
    seconds = 1000 / (6.9 / 30)  # diffusers' T4 figure: 6.9 it/s, 30 steps an image
    assert t4.raw_spot_per_1000 == pytest.approx(0.2039 * seconds / 3600, abs=0.001)
    assert t4.raw_on_demand_per_1000 == pytest.approx(0.526 * seconds / 3600, abs=0.001)
    assert "diffusers" in t4.source
    # Effective: the whole month's node-hours (utilisation, tails) over the images made.
    assert t4.effective_per_1000 is not None
    assert t4.raw_spot_per_1000 is not None
    assert t4.effective_per_1000 > t4.raw_spot_per_1000
    assert costs["g5.xlarge"].seconds_per_image is None  # no sourced A10G figure: says so
    assert costs["g5.xlarge"].source.startswith("unmeasured")


def test_a_pr_stack_costs_at_most_half_a_dollar_a_day_without_its_own_load_balancer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["pr-7"]) == 0
    out = capsys.readouterr().out
    assert "pr-7: $" in out
    assert "a day at zero traffic; most:" in out
    result = price_of([preview_document("pr-7")])
    # The per-PR ALB is being replaced by a shared ingress group (issue 17).
    own_alb = sum(line.monthly for line in result.lines if line.service == "ELB")
    per_day = (result.by_stack()["pr-7"] - own_alb) * 24 / HOURS
    assert per_day <= 0.50, result.dominant("pr-7")
    amounts = [amount for _, amount in result.dominant("pr-7")]
    assert amounts == sorted(amounts, reverse=True)
    top, amount = result.dominant("pr-7")[0]
    assert f"a day at zero traffic; most: {top} {money(amount * 24 / HOURS)}" in out


def test_the_general_pool_is_priced_at_the_cheaper_type_it_allows(
    defaults: Estimate,
) -> None:
    """The pool allows Graviton (decision 0116): API pods are priced on c7g.large Spot,
    cheaper than c6i.large; the control, an x86-only pool, prices c6i.large."""
    graviton = [line for line in defaults.lines if "general pool" in line.item]
    assert graviton
    assert all("(c7g.large spot)" in line.item for line in graviton)
    spot = prices.load()
    assert spot.ec2_hour("c7g.large", "spot").price < spot.ec2_hour("c6i.large", "spot").price
    x86 = price_of(documents_with({"shared": {"pingvas:cluster": X86_GENERAL_POOL}}))
    x86_lines = [line for line in x86.lines if "general pool" in line.item]
    assert x86_lines
    assert all("(c6i.large spot)" in line.item for line in x86_lines)
    assert x86.total > defaults.total
