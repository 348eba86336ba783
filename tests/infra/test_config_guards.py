"""Config is never silently wrong: each broken stack file exits 2 with a message naming
the key, and nothing is previewed (the program never ran)."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from infra.aws_catalog import check_eks_version, eks_versions_in_standard_support
from infra.config import ConfigError
from infra.stack_file import read_stack_file
from stacks.program import config_from_runtime
from tools.preview import load_stack, main

GPU_POOL = "pingvas:cluster:\n    gpuNodePool:\n      instanceTypes: [{}]\n"


@pytest.mark.parametrize(
    ("stack", "content", "message"),
    [
        # the `config:` root
        ("dev", "pingvas:quota:\n  cpu: 4\n", "pingvas:quota: a config key at the top of"),
        ("dev", "confg:\n  pingvas:quota:\n    cpu: 4\n", "confg: not a key of a stack file (did"),
        ("dev", "Config:\n  pingvas:quota:\n    cpu: 4\n", "Config: not a key of a stack file"),
        # namespaces
        (
            "shared",
            "config:\n  pingvass:aurora:\n    readers: 2\n",
            "pingvass:aurora: unknown namespace 'pingvass' (did you mean pingvas:aurora?)",
        ),
        ("dev", "config:\n  pingvs:quota: {}\n", "pingvs:quota: unknown namespace 'pingvs'"),
        (
            "dev",
            "config:\n  aws:profile: prod\n",
            "aws:profile: the stacks' AWS provider reads only",
        ),
        ("dev", "config:\n  aws:regoin: us-east-1\n", "aws:regoin: the stacks' AWS provider"),
        ("dev", "config:\n  kubernetes:context: x\n", "kubernetes:context: the stacks' Kubernetes"),
        # duplicate keys
        (
            "dev",
            "config:\n  pingvas:costCenter: a\n  pingvas:costCenter: b\n",
            "pingvas:costCenter: set twice in candidate.yaml (line 3)",
        ),
        (
            "prod",
            "config:\n  pingvas:gpuWorkers:\n    max: 15\n    max: 50\n",
            "pingvas:gpuWorkers.max: set twice in candidate.yaml (line 4)",
        ),
        ("dev", "config: {}\nconfig: {}\n", "config: set twice"),
        # regions
        ("shared", "config:\n  aws:region: us-east-7\n", "aws:region: 'us-east-7' is not an AWS"),
        ("dev", "config:\n  aws:region: useast1\n", "aws:region: 'useast1' is not an AWS region"),
        (
            "dev",
            "config:\n  aws:region: eu-west-1\n",
            "aws:region: 'eu-west-1' differs from the platform's region 'us-east-1' "
            "(Pulumi.shared.yaml)",
        ),
        # instance types
        (
            "shared",
            "config:\n  " + GPU_POOL.format("g4dn.xlarg"),
            "pingvas:cluster.gpuNodePool.instanceTypes[0]: 'g4dn.xlarg' does not exist",
        ),
        (
            "shared",
            "config:\n  " + GPU_POOL.format("m5.xlarge"),
            "'m5.xlarge' is not a supported NVIDIA GPU instance type (families: g4dn, g5, g6",
        ),
        (
            "shared",
            "config:\n  pingvas:cluster:\n    systemNodes:\n      instanceTypes: [t3.mediun]\n",
            "pingvas:cluster.systemNodes.instanceTypes[0]: 't3.mediun' does not exist",
        ),
        (
            "prod",
            "config:\n  pingvas:redis:\n    nodeType: cache.r6g.larg\n",
            "pingvas:redis.nodeType: 'r6g.larg' does not exist",
        ),
        (
            "prod",
            "config:\n  pingvas:redis:\n    nodeType: cache.x1.large\n",
            "pingvas:redis.nodeType: 'x1.large' is not a supported ElastiCache instance type",
        ),
        # EKS versions
        (
            "shared",
            "config:\n  pingvas:cluster:\n    version: '1.28'\n",
            "pingvas:cluster.version: 1.28 is not an EKS version this program knows; "
            "in standard support: ",
        ),
        (
            "shared",
            "config:\n  pingvas:cluster:\n    version: '1.33'\n",
            "pingvas:cluster.version: 1.33 left EKS standard support on 2026-07-29",
        ),
        # GPU workers against the quota and the GPU node pool
        (
            "dev",
            "config:\n  pingvas:gpuWorkers:\n    max: 5\n",
            "pingvas:gpuWorkers.max: 5 workers need 5 GPUs, but pingvas:quota.gpu allows 3",
        ),
        (
            "prod",
            # A quota that fits 30 workers (stacks/release_fit.py), so only the pool is short.
            "config:\n  pingvas:quota:\n    gpu: 40\n    cpu: 100\n    memory: 600Gi\n"
            "  pingvas:gpuWorkers:\n    max: 30\n",
            "pingvas:gpuWorkers.max: 30 workers can never run: the platform's GPU node pool "
            "runs at most 18 GPUs (pingvas:cluster.gpuNodePool.gpuLimit in Pulumi.shared.yaml)",
        ),
        # secrets in plain text
        (
            "prod",
            "config:\n  pingvas:googleClientSecret: hunter2\n",
            "pingvas:googleClientSecret: a secret in plain text; set it with "
            "`pulumi config set --secret pingvas:googleClientSecret VALUE`",
        ),
        (
            "dev",
            "config:\n  pingvas:lemonSqueezyApiKey: sk_live_123\n",
            "pingvas:lemonSqueezyApiKey: a secret in plain text",
        ),
        (
            "dev",
            "config:\n  pingvas:redis:\n    authToken: abc\n",
            "pingvas:redis.authToken: a secret in plain text; set it with "
            "`pulumi config set --secret --path pingvas:redis.authToken VALUE`",
        ),
        ("dev", "config:\n  pingvas:dbPassword: abc\n", "pingvas:dbPassword: a secret in plain"),
        # the cluster's public endpoint
        (
            "shared",
            "config:\n  pingvas:cluster:\n    publicAccessCidrs: [0.0.0.0/0]\n",
            "pingvas:cluster.publicAccessCidrs[0]: 0.0.0.0/0 is too wide for the cluster's "
            "public endpoint (at most /16",
        ),
        (
            "shared",
            "config:\n  pingvas:cluster:\n    publicAccessCidrs: [84.17.32.7/32, 52.0.0.0/8]\n",
            "pingvas:cluster.publicAccessCidrs[1]: 52.0.0.0/8 is too wide",
        ),
        (
            "shared",
            "config:\n  pingvas:cluster:\n    publicAccessCidrs: [10.0.0.0/24]\n",
            "pingvas:cluster.publicAccessCidrs[0]: 10.0.0.0/24 is not a public range",
        ),
    ],
)
def test_broken_stack_file_exits_2_naming_the_key(
    stack: str, content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "candidate.yaml"
    if stack == "shared" and "pingvas:edge" not in content and content.startswith("config:"):
        content += "  pingvas:edge:\n    domain: pingvas.example.com\n"
    config_file.write_text(content)
    assert main([stack, "--config-file", str(config_file)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_every_problem_of_a_file_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = tmp_path / "candidate.yaml"
    config_file.write_text(
        "config:\n  aws:region: mars-1\n  pingvass:quota: {}\n"
        "  pingvas:googleClientSecret: plain\n  pingvas:gpuWorkers:\n    max: 9\n"
    )
    assert main(["dev", "--config-file", str(config_file)]) == 2
    keys = [line.split(": ")[0] for line in capsys.readouterr().err.splitlines()[1:]]
    assert keys == [
        "pingvass:quota",
        "pingvas:googleClientSecret",
        "aws:region",
        "pingvas:gpuWorkers.max",
    ]


def test_secure_values_at_any_depth_are_accepted(tmp_path: Path) -> None:
    config_file = tmp_path / "candidate.yaml"
    config_file.write_text(
        "config:\n  pingvas:googleClientSecret:\n    secure: v1:abc\n"
        "  pingvas:lemonSqueezyApiKey:\n    secure: v1:def\n"
    )
    assert main(["dev", "--config-file", str(config_file)]) == 0


def test_eks_support_follows_the_calendar() -> None:
    from datetime import date

    assert eks_versions_in_standard_support(date(2026, 8, 1)) == ["1.34", "1.35"]
    assert check_eks_version("1.35", date(2027, 3, 27)) == "1.35"
    with pytest.raises(ValueError, match=r"1.35 left EKS standard support on 2027-03-27"):
        check_eks_version("1.35", date(2027, 3, 28))


def test_the_pulumi_up_path_knows_which_keys_were_encrypted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    key = "pingvas:googleClientSecret"
    pulumi.runtime.set_all_config({key: "from-secure"}, [key])
    assert config_from_runtime().environment is not None
    pulumi.runtime.set_all_config({key: "typed-in-plain"}, [])
    with pytest.raises(ConfigError, match=f"{key}: a secret in plain text"):
        config_from_runtime()
    pulumi.runtime.set_all_config({}, [])


def test_the_gpu_pool_runs_every_long_lived_environments_workers_at_once() -> None:
    platform, _, _ = load_stack("shared")
    assert platform.platform is not None
    maxima = {}
    for stack in ("dev", "prod"):
        environment = load_stack(stack)[0].environment
        assert environment is not None
        maxima[stack] = environment.gpu_workers.max
    assert maxima == {"dev": 3, "prod": 15}  # SPEC §3
    assert sum(maxima.values()) <= platform.platform.cluster.gpu_node_pool.gpu_limit == 18


def test_a_stack_file_without_config_is_a_stack_without_config(tmp_path: Path) -> None:
    # `pulumi stack init` writes only the encryption salt; nothing is lost.
    config_file = tmp_path / "Pulumi.pr-9.yaml"
    config_file.write_text("encryptionsalt: v1:abc\n")
    assert read_stack_file(config_file) == ({}, [])
    config_file.write_text(
        "encryptionsalt: v1:abc\nconfig:\n  pingvas:redis:\n    mode: in-cluster\n"
        "  pingvas:images:\n    tokens: [{secure: v1:x}]\n"
    )
    raw, secret_keys = read_stack_file(config_file)
    assert secret_keys == ["pingvas:images"]  # a secure value at any depth
    assert raw["pingvas:images"] == '{"tokens": ["[secret]"]}'
