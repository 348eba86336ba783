"""The offline runtime itself: resource references, ids, data sources."""

from __future__ import annotations

import threading

import pulumi
import pytest

import pulumi_offline as offline
import pulumi_offline.runtime


def test_resources_passed_as_inputs_arrive_as_their_urn() -> None:
    """The stock mock monitor hangs or flakes on these (docs/architecture.md)."""

    def program() -> None:
        first = pulumi.CustomResource("test:index:Thing", "first", {"size": 1})
        pulumi.CustomResource("test:index:Thing", "second", {"other": first, "many": [first]})

    run = offline.run_offline(
        project="pingvas", stack="t", config={}, region="us-east-1", program=program
    )
    first = run.one("test:index:Thing", "first")
    second = run.one("test:index:Thing", "second")
    assert second.inputs["other"] == first.urn
    assert second.inputs["many"] == [first.urn]


def test_ids_are_stable_unique_and_aws_like() -> None:
    vpc_id = offline.mock_id("aws:ec2/vpc:Vpc", "pingvas-shared-vpc")
    assert vpc_id.startswith("vpc-")
    assert vpc_id == offline.mock_id("aws:ec2/vpc:Vpc", "pingvas-shared-vpc")
    assert vpc_id != offline.mock_id("aws:ec2/vpc:Vpc", "pingvas-dev-vpc")


def test_unanswered_data_sources_fail_loudly() -> None:
    def program() -> None:
        import pulumi_aws as aws

        provider = aws.Provider("explicit", region="us-east-1")
        options = pulumi.InvokeOptions(provider=provider)
        pulumi.runtime.invoke("aws:index/getAmi:getAmi", {}, options)

    with pytest.raises(Exception, match="does not answer aws:index/getAmi:getAmi"):
        offline.run_offline(
            project="pingvas", stack="t", config={}, region="us-east-1", program=program
        )


def test_secret_inputs_and_exports_are_hidden() -> None:
    def program() -> None:
        secret = pulumi.Output.secret("hunter2")
        pulumi.CustomResource("test:index:Thing", "s", {"password": secret})
        pulumi.export("token", pulumi.Output.secret("abc"))
        pulumi.export("plain", "visible")

    run = offline.run_offline(
        project="pingvas", stack="t", config={}, region="us-east-1", program=program
    )
    assert run.one("test:index:Thing", "s").inputs["password"] == "[secret]"
    assert run.outputs == {"token": "[secret]", "plain": "visible"}


def test_a_failed_run_fails_itself_and_leaves_the_next_run_clean() -> None:
    def failing_input() -> None:
        first = pulumi.CustomResource("test:index:Thing", "first", {})

        def explode(_: str) -> str:
            raise ValueError("bad input")

        pulumi.CustomResource("test:index:Thing", "second", {"value": first.urn.apply(explode)})

    def fine() -> None:
        pulumi.CustomResource("test:index:Thing", "third", {})
        pulumi.export("ok", True)

    with pytest.raises(ValueError, match="bad input"):
        offline.run_offline(
            project="pingvas", stack="t", config={}, region="us-east-1", program=failing_input
        )
    run = offline.run_offline(
        project="pingvas", stack="t", config={}, region="us-east-1", program=fine
    )
    assert run.outputs == {"ok": True}


def test_default_aws_and_kubernetes_providers_are_refused_as_pulumi_yaml_says() -> None:
    import pulumi_aws as aws

    def untagged() -> None:
        aws.s3.Bucket("untagged")

    def untagged_lookup() -> None:
        aws.get_caller_identity_output().account_id.apply(print)

    for program in (untagged, untagged_lookup):
        with pytest.raises(Exception, match="uses the default aws provider"):
            offline.run_offline(
                project="pingvas", stack="t", config={}, region="us-east-1", program=program
            )


@pytest.mark.parametrize(
    ("region", "partition", "dns_suffix"),
    [
        ("us-east-1", "aws", "amazonaws.com"),
        ("eu-west-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_the_partition_is_the_configured_regions_as_aws_answers(
    region: str, partition: str, dns_suffix: str
) -> None:
    """Components build ARNs from it (components/iam.py), so they work in any partition."""
    import pulumi_aws as aws

    def program() -> None:
        provider = aws.Provider("explicit", region=region)
        answer = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(provider=provider))
        pulumi.export("partition", answer.partition)
        pulumi.export("dnsSuffix", answer.dns_suffix)
        pulumi.export(
            "role",
            aws.iam.Role(
                "r", assume_role_policy="{}", opts=pulumi.ResourceOptions(provider=provider)
            ).arn,
        )

    run = offline.run_offline(
        project="pingvas", stack="t", config={}, region=region, program=program
    )
    assert run.outputs["partition"] == partition
    assert run.outputs["dnsSuffix"] == dns_suffix
    assert run.outputs["role"].startswith(f"arn:{partition}:iam::")


def test_a_run_leaves_no_thread_behind_so_the_process_may_fork(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tools/forked.py forks between runs: a thread alive then could hold a lock forever."""
    monitor_threads: set[str] = set()

    class Watching(offline.OfflineMocks):
        def new_resource(
            self, args: pulumi.runtime.MockResourceArgs
        ) -> tuple[str, dict[str, object]]:
            monitor_threads.add(threading.current_thread().name)
            return super().new_resource(args)

    def program() -> None:
        for number in range(8):
            pulumi.CustomResource("test:index:Thing", f"thing-{number}", {"n": number})

    before = threading.active_count()
    monkeypatch.setattr(pulumi_offline.runtime, "OfflineMocks", Watching)
    run = offline.run_offline(
        project="pingvas", stack="t", config={}, region="us-east-1", program=program
    )
    assert len(run.of_type("test:index:Thing")) == 8
    # Control: the monitor did run on threads of the run's own pool ...
    assert monitor_threads
    assert all(name.startswith("offline-monitor") for name in monitor_threads)
    # ... and none of them outlives the run.
    assert threading.active_count() == before
