"""`python -m tools.preview STACK --diff BASE.json`: the change as `pulumi preview --diff`
shows it, with its exit codes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulumi_offline import SECRET, OfflineRun
from tests.support.stacks import run_stack
from tools import diff, preview

SUBNET = "aws:ec2/subnet:Subnet"


def document(stack: str) -> dict[str, Any]:
    return copy.deepcopy(preview.as_json(run_stack(stack)))


def write(tmp_path: Path, base: Any, name: str = "base.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(base))
    return path


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = preview.main(list(argv))
    return status, capsys.readouterr().out


def first(base: dict[str, Any], type_token: str) -> dict[str, Any]:
    return next(r for r in base["resources"] if r["type"] == type_token)


def test_no_change_exits_0_even_when_no_changes_are_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path, [document("shared"), document("dev")])
    status, out = run_main(capsys, "shared", "dev", "--diff", str(base), "--expect-no-changes")
    assert status == 0
    assert out.splitlines() == ["pingvas/shared: no changes", "", "pingvas/dev: no changes"]


def test_update_shows_each_changed_input_old_to_new(
    stack_with: Callable[[str, dict[str, Any]], OfflineRun],
) -> None:
    base = document("dev")
    quota = {"cpu": 24, "memory": "50Gi", "gpu": 3, "pods": 50}
    changed = preview.as_json(stack_with("dev", {"pingvas:quota": quota}))
    result = diff.diff(base, changed)
    assert result.summary() == "~1"
    (change,) = result.resources
    assert (change.kind, change.type) == ("update", "kubernetes:core/v1:ResourceQuota")
    assert [(c.path, c.old, c.new) for c in change.inputs] == [
        ("spec.hard.requests.cpu", "20", "24")
    ]
    assert diff.as_text(result).splitlines() == [
        "pingvas/dev: ~1",
        "  ~  kubernetes:core/v1:ResourceQuota  pingvas-dev-tenancy-quota",
        '       spec.hard.requests.cpu: "20" → "24"',
        "  ~  output settings.quota.cpu: 20 → 24",
    ]


def test_a_replace_forcing_input_makes_a_replacement() -> None:
    current = document("shared")
    base = copy.deepcopy(current)
    subnet = first(base, SUBNET)
    new_cidr = subnet["inputs"]["cidrBlock"]
    subnet["inputs"]["cidrBlock"] = "10.0.99.0/24"
    subnet["inputs"]["tags"]["Name"] = "old-name"  # an in-place input changed alongside
    result = diff.diff(base, current)
    assert result.summary() == "+-1"
    (change,) = result.resources
    assert change.kind == "replace"
    forcing = {c.path: c.forces_replacement for c in change.inputs}
    assert forcing == {"cidrBlock": True, "tags.Name": False}
    text = diff.as_text(result)
    assert f'cidrBlock: "10.0.99.0/24" → "{new_cidr}"  (forces replacement)' in text
    assert f"+- {SUBNET}  {subnet['name']}" in text


def test_creates_and_deletes_match_resources_by_urn() -> None:
    current = document("shared")
    base = copy.deepcopy(current)
    vpc = first(base, "aws:ec2/vpc:Vpc")
    base["resources"].remove(vpc)  # in the program, not in BASE: a create
    gone = copy.deepcopy(first(base, SUBNET))
    gone["urn"] = gone["urn"].replace(gone["name"], "retired-subnet")
    gone["name"] = "retired-subnet"
    base["resources"].append(gone)  # in BASE, not in the program: a delete
    result = diff.diff(base, current)
    assert result.summary() == "+1 -1"
    assert [(c.kind, c.name) for c in result.resources] == [
        ("create", vpc["name"]),
        ("delete", "retired-subnet"),
    ]
    text = diff.as_text(result)
    assert f"+  aws:ec2/vpc:Vpc  {vpc['name']}" in text
    assert 'cidrBlock: "10.0.0.0/16"' in text
    assert f"-  {SUBNET}  retired-subnet" in text


def test_summary_line_exit_codes_and_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = document("shared")
    base = copy.deepcopy(current)
    base["resources"].remove(first(base, "aws:ec2/vpc:Vpc"))
    subnets = [r for r in base["resources"] if r["type"] == SUBNET]
    replaced_cidr = subnets[0]["inputs"]["cidrBlock"]
    subnets[0]["inputs"]["cidrBlock"] = "10.0.99.0/24"
    subnets[1]["inputs"]["tags"]["Name"] = "old-name"
    extra = copy.deepcopy(subnets[2])
    extra["urn"] += "-retired"
    base["resources"].append(extra)
    path = write(tmp_path, base)

    status, text = run_main(capsys, "shared", "--diff", str(path))
    assert status == 0  # changes are fine unless told otherwise, as with pulumi preview
    assert text.splitlines()[0] == "pingvas/shared: +1 ~1 -1 +-1"
    status, _ = run_main(capsys, "shared", "--diff", str(path), "--expect-no-changes")
    assert status == 1

    status, out = run_main(capsys, "shared", "--diff", str(path), "--json")
    as_json = json.loads(out)
    assert as_json["summary"] == {"create": 1, "update": 1, "delete": 1, "replace": 1}
    replaced = next(c for c in as_json["changes"] if c["op"] == "replace")
    assert replaced["inputs"] == [
        {
            "path": "cidrBlock",
            "old": "10.0.99.0/24",
            "new": replaced_cidr,
            "forcesReplacement": True,
        }
    ]

    status, markdown = run_main(capsys, "shared", "--diff", str(path), "--markdown")
    assert markdown.startswith("### `pingvas/shared`: +1 ~1 -1 +-1")
    assert markdown.count("<details>") == markdown.count("</details>") == 4
    row = f'| `cidrBlock` **(forces replacement)** | `"10.0.99.0/24"` | `"{replaced_cidr}"` |'
    assert row in markdown


def test_secrets_stay_masked_in_every_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret set with `pulumi config set --secret` reaches the program as a secret; the
    diff shows where it changes, never its value (nor the stack file's ciphertext)."""
    marker = "v1:plaintext-marker-4711"
    base = write(tmp_path, document("pr-7"))
    config = tmp_path / "Pulumi.pr-7.yaml"
    config.write_text(f"config:\n  pingvas:googleClientSecret:\n    secure: {marker}\n")
    outputs = {}
    for form in ("--json", "--markdown", None):
        argv = ["pr-7", "--config-file", str(config), "--diff", str(base)]
        status, outputs[form] = run_main(capsys, *argv, *([form] if form else []))
        assert status == 0
        assert marker not in outputs[form]
    # A preview creates a credential's secret only once it is given one (issue 17).
    changes = json.loads(outputs["--json"])["changes"]
    created = {c["type"]: c for c in changes if c["op"] == "create"}
    assert set(created) == {
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretVersion:SecretVersion",
    }
    # ... and the app's release, whose ExternalSecret now reads it.
    assert {(c["op"], c["type"]) for c in changes if c["op"] != "create"} == {
        ("update", "kubernetes:helm.sh/v3:Release")
    }
    version = created["aws:secretsmanager/secretVersion:SecretVersion"]
    assert {"path": "secretString", "new": SECRET} in version["inputs"]


def test_a_secret_is_shown_masked_on_the_side_that_holds_it() -> None:
    change = next(
        diff._changes(
            "aws:rds/cluster:Cluster", {"masterPassword": "x"}, {"masterPassword": SECRET}
        )
    )
    assert diff._shown(change.new) == SECRET
    assert list(diff._changes("", {"a": SECRET}, {"a": SECRET})) == []


def test_json_inside_strings_is_compared_by_content() -> None:
    old = {"policy": json.dumps({"Statement": [{"Action": "s3:GetObject"}]})}
    new = {"policy": json.dumps({"Statement": [{"Action": "s3:PutObject"}]}, indent=1)}
    (change,) = diff._changes("aws:iam/rolePolicy:RolePolicy", old, new)
    assert (change.path, change.old, change.new) == (
        "policy.Statement[0].Action",
        "s3:GetObject",
        "s3:PutObject",
    )
    assert not change.forces_replacement


def test_a_stack_missing_from_base_is_all_creates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path, [document("shared")])
    status, out = run_main(capsys, "pr-7", "--diff", str(base))
    assert status == 0
    assert out.splitlines()[0] == f"pingvas/pr-7: +{len(run_stack('pr-7').resources)}"


def test_invalid_config_exits_2_before_diffing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path, document("pr-7"))
    config = tmp_path / "bad.yaml"
    config.write_text("config:\n  pingvas:quota:\n    cpu: -1\n")
    status = preview.main(["pr-7", "--config-file", str(config), "--diff", str(base)])
    assert status == 2
    assert "quota" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content",
    ['{"summary": {}}', '[{"stack": "dev", "resources": [{"urn": "x"}]}]', "[1]", "{oops"],
)
def test_a_base_that_is_not_a_preview_exits_2_instead_of_showing_all_creates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    base = tmp_path / "base.json"
    base.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        preview.main(["dev", "--diff", str(base)])
    assert exit_.value.code == 2
    assert f"--diff {base}: " in capsys.readouterr().err


@pytest.mark.parametrize("stack", ["shared", "dev", "prod", "pr-7"])
def test_every_resource_type_the_program_uses_has_its_replace_inputs_listed(stack: str) -> None:
    for resource in run_stack(stack).resources:
        package = resource.type.split(":", 1)[0]
        if package in {"pulumi", "pingvas", "eks"}:  # providers, references, components
            continue
        assert diff.replaced_by(resource.type) is not None, (
            f"{resource.type}: add its replace-forcing inputs to tools/diff.py REPLACED_BY"
        )


def test_replace_rules_match_paths_below_them() -> None:
    assert diff.forces_replacement("kubernetes:core/v1:Namespace", "metadata.name")
    assert not diff.forces_replacement("kubernetes:core/v1:Namespace", "metadata.labels.team")
    assert diff.forces_replacement("aws:eks/nodeGroup:NodeGroup", "subnetIds[2]")
    assert not diff.forces_replacement("aws:eks/nodeGroup:NodeGroup", "subnetIdsExtra")
    assert diff.forces_replacement("random:index/randomPassword:RandomPassword", "length")
