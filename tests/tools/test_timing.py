"""`python -m tools.preview STACK --timing`: the critical path of up and destroy."""

from __future__ import annotations

import json

import pytest

from pulumi_offline import OfflineRun, RecordedResource
from tests.support.stacks import run_stack
from tools import rollout as rollout_module
from tools import timing
from tools.preview import main


def resource(name: str, type_token: str, *needs: str) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:{name}",
        type=type_token,
        name=name,
        id=name,
        parent=None,
        provider=None,
        inputs={},
        dependencies=[f"urn:{need}" for need in needs],
    )


def test_every_figure_names_a_source_of_a_known_kind() -> None:
    durations = timing.load_durations()
    assert durations.figures
    for type_token, figures in durations.figures.items():
        for operation, figure in figures.items():
            source = durations.sources[figure.source]
            assert source.kind in timing.SOURCE_KINDS, (type_token, operation)
            assert source.ref.startswith("https://"), figure.source
            assert figure.seconds >= 0


def test_parallel_branches_cost_the_slowest_and_chains_add_up() -> None:
    run = OfflineRun(project="p", stack="s")
    run.resources = [
        resource("zone", "aws:route53/zone:Zone"),  # 60 s
        resource("record", "aws:route53/record:Record", "zone"),  # 60 s after the zone
        resource("role", "aws:iam/role:Role"),  # 2 s, in parallel
        resource("mystery", "aws:ec2/natGateway:NatGateway", "role"),  # no figure
        resource("component", "pingvas:edge:Dns", "record"),  # no cloud time
    ]
    up = timing.critical_path(run, "create", timing.load_durations())
    assert [step.resource.name for step in up.steps] == ["zone", "record"]
    assert up.total_seconds == 120
    assert up.unknown_types == ["aws:ec2/natGateway:NatGateway"]
    down = timing.critical_path(run, "delete", timing.load_durations())
    assert [step.resource.name for step in down.steps] == ["record", "zone"]


def test_shared_first_up_is_dominated_by_the_database_and_the_cluster() -> None:
    result = timing.estimate(run_stack("shared"))
    slow = {"aws:rds/clusterInstance:ClusterInstance", "eks:index:Cluster"}
    assert {step.resource.type for step in result.up.steps} & slow
    assert result.up.total_seconds >= 15 * 60


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_cdn_costs_dev_and_prod_a_quarter_hour_each_way(stack: str) -> None:
    result = timing.estimate(run_stack(stack))
    for path in (result.up, result.destroy):
        types = [step.resource.type for step in path.steps]
        assert "aws:cloudfront/distribution:Distribution" in types
        assert path.total_seconds > 15 * 60


def test_timing_command_prints_both_paths(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pr-7", "--timing"]) == 0
    text = capsys.readouterr().out
    assert "pr-7: pulumi up ≈" in text
    assert "pr-7: pulumi destroy ≈" in text
    assert "kubernetes:core/v1:Namespace" in text
    assert main(["pr-7", "--timing", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["timing"]["destroy"]["totalSeconds"] <= 180
    assert document["timing"]["up"]["path"][0]["source"] is not None


def test_a_preview_up_states_the_app_rollout_apart_from_the_aws_budget() -> None:
    """The release waits for the migrations hook, then its pods: every Deployment that runs
    pods at install (the KEDA worker has no `replicas`, so it starts with one)."""
    result = timing.estimate(run_stack("pr-7"))
    assert result.rollout is not None
    assert result.up.total_seconds <= 180  # the AWS budget holds without the rollout
    rollout = result.rollout
    assert rollout.hook is not None
    assert rollout.hook.workload == "Job/pingvas-migrations"
    workloads = {part.workload for part in rollout.deployments}
    assert {"Deployment/gpu-worker", "Deployment/user-service"} <= workloads
    (worker,) = [p for p in rollout.deployments if p.workload == "Deployment/gpu-worker"]
    assert worker.waits[0].what == "GPU node launch"  # the API pods get a plain node
    assert rollout.scale_from_zero == [w for w in worker.waits if w.what != "probes pass"]
    assert rollout.total_seconds == rollout.hook.seconds + max(
        part.seconds for part in rollout.deployments
    )
    assert timing.estimate(run_stack("shared")).rollout is None


def test_probes_count_their_delay_and_the_periods_of_their_successes() -> None:
    probe = {"initialDelaySeconds": 30, "periodSeconds": 10, "successThreshold": 3}
    assert rollout_module.probe_seconds({"readinessProbe": probe}) == 50
    assert rollout_module.probe_seconds({"startupProbe": {"periodSeconds": 2}}) == 0
    assert rollout_module.probe_seconds({}) == 0


def test_timing_prints_the_rollout_separately(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pr-7", "--timing"]) == 0
    text = capsys.readouterr().out
    up, rest = text.split("pr-7: pulumi destroy ≈", 1)
    assert "app release rollout" not in up
    assert "pr-7: app release rollout ≈" in rest
    assert "outside the 3 min budget" in rest
    assert "source gp3-baseline:" in rest
    assert main(["pr-7", "--timing", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["timing"]["rollout"]["parts"][0]["workload"] == "Job/pingvas-migrations"
