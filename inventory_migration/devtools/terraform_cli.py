"""Run the real Terraform CLI offline against the synthesized JSON.

Our machines carry Terraform on the PATH and the hashicorp/aws provider in a filesystem mirror. This
module finds the mirror (it is never hard-coded), writes a CLI configuration that installs providers from
it only, and runs ``terraform init`` / ``validate`` in a stack directory.
"""

from __future__ import annotations

import copy
import dataclasses
import glob
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inventory_migration.contracts.environment import Variable

PROVIDER_GLOB = "registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_v*"
MIRROR_ENV = Variable.TF_PROVIDER_MIRROR
"""Set this to the mirror directory (it wins over everything else)."""
PROJECT_MIRROR = Path(__file__).resolve().parents[2] / ".terraform-mirror"
"""The project's own mirror, written by ``make mirror`` (``terraform providers mirror``)."""
SEARCH_ROOTS = (
    "/opt",
    "/usr/local/share/terraform",
    "/usr/share/terraform",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
)
"""Where machine images put a mirror; looked at (two levels deep) after the project's own. Nothing else is searched:
set ``TF_PROVIDER_MIRROR`` or run ``make mirror`` when neither holds one."""

CLI_CONFIG_TEMPLATE = """provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/hashicorp/*"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/*"]
  }}
}}
"""


def _mirror_of(binary: str) -> Path:
    # <mirror>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/<binary>
    return Path(binary).parents[5]


def find_provider_mirror(version_prefix: str = "5.", environ: Mapping[str, str] | None = None) -> Path | None:
    """The filesystem mirror holding hashicorp/aws ``version_prefix``*: ``TF_PROVIDER_MIRROR``, else the project's
    (``make mirror``), else one in :data:`SEARCH_ROOTS`; ``None`` when there is none."""
    env = os.environ if environ is None else environ
    if env.get(MIRROR_ENV):
        mirror = Path(env[MIRROR_ENV])
        return mirror if any(mirror.glob(PROVIDER_GLOB)) else None
    pattern = PROVIDER_GLOB.replace("aws/*/", f"aws/{version_prefix}*/")
    for root in (str(PROJECT_MIRROR), *SEARCH_ROOTS):
        for depth in ("", "*/", "*/*/"):
            hits = sorted(glob.glob(str(Path(root).expanduser() / f"{depth}{pattern}")))
            if hits:
                return _mirror_of(hits[-1])
    return None


def write_cli_config(mirror: Path, path: Path) -> Path:
    """A Terraform CLI config that installs hashicorp providers from ``mirror`` only."""
    path.write_text(CLI_CONFIG_TEMPLATE.format(mirror=mirror), encoding="utf-8")
    return path


@dataclasses.dataclass(frozen=True)
class TerraformResult:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class OfflineTerraform:
    """Terraform with a mirror-only CLI config."""

    binary: str
    cli_config: Path
    plugin_cache: Path | None = None

    @classmethod
    def discover(cls, workdir: Path) -> OfflineTerraform | None:
        binary = shutil.which("terraform")
        mirror = find_provider_mirror()
        if binary is None or mirror is None:
            return None
        workdir.mkdir(parents=True, exist_ok=True)
        return cls(binary=binary, cli_config=write_cli_config(mirror, workdir / "terraform.tfrc"))

    def run(self, *args: str, cwd: Path, timeout: int = 600) -> TerraformResult:
        env = {**os.environ, "TF_CLI_CONFIG_FILE": str(self.cli_config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
        proc = subprocess.run(
            [self.binary, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        return TerraformResult(proc.returncode, proc.stdout + proc.stderr)

    def _init_then(
        self, synth: Mapping[str, object], directory: Path, init_args: tuple[str, ...], *command: str
    ) -> TerraformResult:
        """Write the stack into ``directory``, ``terraform init``, then run ``command`` if init succeeded."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "cdk.tf.json").write_text(json.dumps(synth, indent=2), encoding="utf-8")
        init = self.run("init", "-input=false", "-no-color", *init_args, cwd=directory)
        return self.run(*command, cwd=directory) if init.ok else init

    def plan(self, synth: Mapping[str, object], directory: Path) -> TerraformResult:
        """``init`` then ``plan`` (the provider must reach its endpoints: use :func:`with_local_endpoints`)."""
        return self._init_then(synth, directory, (), "plan", "-input=false", "-no-color", "-lock=false")

    def validate(self, synth: Mapping[str, object], directory: Path) -> TerraformResult:
        """``init -backend=false`` then ``validate`` on one synthesized stack."""
        return self._init_then(synth, directory, ("-backend=false",), "validate", "-no-color")


LOCAL_ENDPOINT_SERVICES = ("sts", "ec2", "kms", "iam", "logs", "rds", "dms", "s3", "sns", "cloudwatch", "secretsmanager")
"""Every AWS service the migration stack calls."""


def with_local_endpoints(synth: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    """A copy of a synthesized stack whose provider talks to a local AWS emulator (moto) with dummy keys,
    and whose state stays local: for rehearsing ``plan``/``apply`` without an AWS account."""
    out = copy.deepcopy(dict(synth))
    provider = out["provider"]["aws"][0]
    provider.update(
        {
            "access_key": "testing",
            "secret_key": "testing",
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": True,
            "s3_use_path_style": True,
            "endpoints": [{service: endpoint for service in LOCAL_ENDPOINT_SERVICES}],
        }
    )
    out.get("terraform", {}).pop("backend", None)
    return out


def mirror(stack_json: Path, destination: Path = PROJECT_MIRROR) -> int:
    """``make mirror``: the stack's providers into ``destination``. From a mirror this machine already has (offline:
    its hashicorp/aws packages linked, or copied across file systems), else ``terraform providers mirror`` from the
    registry (which that command always asks, whatever the CLI configuration says)."""
    import sys

    existing = find_provider_mirror()
    if existing is not None and existing.resolve() != destination.resolve():
        source = existing / "registry.terraform.io" / "hashicorp" / "aws"
        target = destination / "registry.terraform.io" / "hashicorp" / "aws"
        target.parent.mkdir(parents=True, exist_ok=True)

        def link_or_copy(src: str, dst: str) -> str:
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
            return dst

        shutil.copytree(source, target, copy_function=link_or_copy, dirs_exist_ok=True)
        print(f"provider mirror: {destination} (from {existing})")
        return 0
    binary = shutil.which("terraform")
    if binary is None:
        print("error: terraform not on PATH", file=sys.stderr)
        return 2
    destination.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([binary, "providers", "mirror", str(destination)], cwd=stack_json.parent, check=False, timeout=1800)
    if done.returncode == 0:
        print(f"provider mirror: {destination} (from the registry)")
    return done.returncode


def main(argv: list[str] | None = None) -> int:
    """``python -m inventory_migration.devtools.terraform_cli [mirror] cdktf.out/stacks/<stack>/cdk.tf.json``: init + validate,
    or fill the project's provider mirror."""
    import sys
    import tempfile

    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "mirror" and Path(args[1]).is_file():
        return mirror(Path(args[1]))
    if len(args) != 1 or not Path(args[0]).is_file():
        print("usage: python -m inventory_migration.devtools.terraform_cli [mirror] PATH/TO/cdk.tf.json", file=sys.stderr)
        return 2
    tf = OfflineTerraform.discover(Path(tempfile.mkdtemp(prefix="tfcli-")))
    if tf is None:
        print("error: terraform not on PATH or no hashicorp/aws 5.x filesystem mirror found", file=sys.stderr)
        return 2
    synth = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    result = tf.validate(synth, Path(tempfile.mkdtemp(prefix="tfvalidate-")))
    print(result.output)
    return 0 if result.ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
