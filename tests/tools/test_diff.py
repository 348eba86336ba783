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
from tools import diff, preview, replacements

SUBNET = "aws:ec2/subnet:Subnet"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"


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
    (change,) = [c for c in result.resources if not c.cascaded]
    assert (change.kind, change.name) == ("replace", subnet["name"])
    # Its dependants (route table association, NAT gateway, ...) cascade: test_diff_cascade.py
    assert result.summary().endswith(f"({len(result.resources) - 1} from replacements)")
    forcing = {c.path: c.forces_replacement for c in change.inputs}
    assert forcing == {"cidrBlock": True, "tags.Name": False}
    text = diff.as_text(result)
    assert f'cidrBlock: "10.0.99.0/24" → "{new_cidr}"  (forces replacement)' in text
    assert f"+- {SUBNET}  {subnet['name']}" in text


def test_creates_and_deletes_match_resources_by_urn() -> None:
    current = document("shared")
    base = copy.deepcopy(current)
    association = first(base, ASSOCIATION)
    base["resources"].remove(association)  # in the program, not in BASE: a create
    gone = copy.deepcopy(first(base, SUBNET))
    gone["urn"] = gone["urn"].replace(gone["name"], "retired-subnet")
    gone["name"] = "retired-subnet"
    base["resources"].append(gone)  # in BASE, not in the program: a delete
    result = diff.diff(base, current)
    assert result.summary() == "+1 -1"
    assert [(c.kind, c.name) for c in result.resources] == [
        ("create", association["name"]),
        ("delete", "retired-subnet"),
    ]
    text = diff.as_text(result)
    assert f"+  {ASSOCIATION}  {association['name']}" in text
    assert f'subnetId: "{association["inputs"]["subnetId"]}"' in text
    assert f"-  {SUBNET}  retired-subnet" in text


def test_summary_line_exit_codes_and_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Leaves of the graph, so that nothing cascades (test_diff_cascade.py).
    current = document("shared")
    base = copy.deepcopy(current)
    base["resources"].remove(first(base, ASSOCIATION))
    route = first(base, "aws:ec2/route:Route")
    replaced_cidr = route["inputs"]["destinationCidrBlock"]
    route["inputs"]["destinationCidrBlock"] = "10.0.99.0/24"
    first(base, SUBNET)["inputs"]["tags"]["Name"] = "old-name"
    extra = copy.deepcopy(first(base, ASSOCIATION))
    extra["urn"] += "-retired"
    base["resources"].append(extra)
    path = write(tmp_path, base)

    status, text = run_main(capsys, "shared", "--diff", str(path))
    assert status == 0  # changes are fine unless told otherwise, as with pulumi preview
    assert text.splitlines()[0] == "pingvas/shared: +1 ~1 -1 +-1"
    status, _ = run_main(capsys, "shared", "--diff", str(path), "--expect-no-changes")
    assert status == diff.EXIT_CHANGES == 3  # not 1, Python's status for a crash

    status, out = run_main(capsys, "shared", "--diff", str(path), "--json")
    as_json = json.loads(out)
    assert as_json["summary"] == {"create": 1, "update": 1, "delete": 1, "replace": 1}
    replaced = next(c for c in as_json["changes"] if c["op"] == "replace")
    assert replaced["cascaded"] is False
    assert replaced["inputs"] == [
        {
            "path": "destinationCidrBlock",
            "old": "10.0.99.0/24",
            "new": replaced_cidr,
            "forcesReplacement": True,
        }
    ]

    status, markdown = run_main(capsys, "shared", "--diff", str(path), "--markdown")
    assert markdown.startswith(
        "| stack | changes |\n|---|---|\n| `pingvas/shared` | +1 ~1 -1 +-1 |"
    )
    assert "### `pingvas/shared`: +1 ~1 -1 +-1" in markdown
    assert markdown.count("<details>") == markdown.count("</details>") == 4
    row = (
        "| `destinationCidrBlock` **(forces replacement)** "
        f'| `"10.0.99.0/24"` | `"{replaced_cidr}"` |'
    )
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


def test_a_stack_missing_from_a_base_of_its_siblings_is_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creates = f"pingvas/pr-7: +{len(run_stack('pr-7').resources)}"
    base = write(tmp_path, [document("shared")])
    status, out = run_main(capsys, "shared", "pr-7", "--diff", str(base))
    assert status == 0
    assert creates in out.splitlines()
    # An empty base (CI's, when the base branch cannot preview) holds nothing yet.
    status, out = run_main(capsys, "pr-7", "--diff", str(write(tmp_path, [])))
    assert (status, out.splitlines()[0]) == (0, creates)


@pytest.mark.parametrize(
    ("argv", "held"),
    [(["pr-7"], "pingvas/shared"), (["dev", "prod"], "pingvas/shared")],
)
def test_a_base_of_other_stacks_exits_2_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], held: str
) -> None:
    """Not `+86`: a base of another stack is a mistake, whatever it would diff as."""
    base = write(tmp_path, [document("shared")])
    with pytest.raises(SystemExit) as exit_:
        preview.main([*argv, "--diff", str(base)])
    assert exit_.value.code == diff.EXIT_ERROR
    error = capsys.readouterr().err
    wanted = ", ".join(f"pingvas/{stack}" for stack in argv)
    assert f"BASE is a preview of {held}, not of {wanted}" in error


def test_a_base_of_another_project_exits_2_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = document("pr-7")
    other["project"] = "billing"
    base = write(tmp_path, other)
    with pytest.raises(SystemExit) as exit_:
        preview.main(["pr-7", "--diff", str(base)])
    assert exit_.value.code == diff.EXIT_ERROR
    assert "BASE is a preview of billing/pr-7, not of pingvas/pr-7" in capsys.readouterr().err


def test_markdown_stays_under_githubs_comment_limit_summary_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CI's fallback base is empty: every resource of four stacks is new."""
    stacks = ("shared", "dev", "prod", "pr-7")
    status, markdown = run_main(capsys, *stacks, "--diff", str(write(tmp_path, [])), "--markdown")
    assert status == 0
    assert len(markdown) <= diff.MARKDOWN_LIMIT + 400 < 65_536
    summary = markdown.split("\n\n", 1)[0].splitlines()
    assert summary[2:] == [f"| `pingvas/{s}` | +{len(run_stack(s).resources)} |" for s in stacks]
    assert "more blocks not shown**" in markdown.rsplit("\n\n", 1)[-1]
    assert markdown.count("<details>") == markdown.count("</details>")
    # Control: a diff that fits is whole, with no note.
    base = document("pr-7")
    next(r for r in base["resources"] if r["inputs"])["inputs"]["changed"] = "before"
    status, small = run_main(capsys, "pr-7", "--diff", str(write(tmp_path, base)), "--markdown")
    assert "not shown" not in small
    assert small.count("<details>") == small.count("</details>") == 1


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
        if package in {"pulumi", "pingvas"}:  # providers, references, components
            continue
        assert replacements.replaced_by(resource.type) is not None, (
            f"{resource.type}: add its replace-forcing inputs to tools/replacements.py"
        )


def test_replace_rules_match_paths_below_them() -> None:
    assert replacements.forces_replacement("kubernetes:core/v1:Namespace", "metadata.name")
    assert not replacements.forces_replacement(
        "kubernetes:core/v1:Namespace", "metadata.labels.team"
    )
    assert replacements.forces_replacement("aws:eks/nodeGroup:NodeGroup", "subnetIds[2]")
    assert not replacements.forces_replacement("aws:eks/nodeGroup:NodeGroup", "subnetIdsExtra")
    assert replacements.forces_replacement("random:index/randomPassword:RandomPassword", "length")
