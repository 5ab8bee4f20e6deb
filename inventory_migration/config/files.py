"""``[files]``: the ~2 TB of product images and how DataSync moves them to the image bucket (feeds
``constructs/files.py``; ``migrationctl files plan`` reads the bandwidth and the lifecycle settings)."""

from __future__ import annotations

import dataclasses
import re
from enum import Enum

from inventory_migration.config.base import Check, Problem, Validated, ipv4

AGENT_ARN_PATTERN = re.compile(r"arn:aws[a-z-]*:datasync:[a-z0-9-]+:\d{12}:agent/agent-[0-9a-z]{17}")
SCHEDULE_PATTERN = re.compile(r"(cron|rate)\(.+\)")


class FileProtocol(Enum):
    """How the agent reads the on-prem file system."""

    NFS = "nfs"
    """An NFS export (the default for Linux file servers)."""
    SMB = "smb"
    """An SMB share; the password comes from the ``datasync_smb_password`` Terraform variable (``TF_VAR_…``)."""


class DeletedFiles(Enum):
    """What the transfer does with objects whose file was deleted on-prem."""

    REMOVE = "remove"
    """Delete them in the bucket (versioning keeps the old version for ``noncurrent_expiration_days``)."""
    PRESERVE = "preserve"
    """Keep them in the bucket."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class FilesConfig(Validated):
    """The on-prem image file system and the DataSync task that copies it."""

    protocol: FileProtocol = FileProtocol.NFS
    """NFS or SMB. Default: NFS."""
    server: str = "files.inventory.corp.example"
    """Host name or IP of the file server, as the agent reaches it. Default: a placeholder to replace."""
    export_path: str = "/exports/product-images"
    """NFS export path, or SMB share path (``/share/folder``). Default: ``/exports/product-images``."""
    smb_user: str = ""
    """SMB user (SMB only). Default: none."""
    smb_domain: str = ""
    """SMB domain (SMB only). Default: none."""
    agent_arn: str = ""
    """ARN of the on-prem DataSync agent once it is activated against the stack's endpoint (the second pass of the
    first deploy, ``docs/network.md``); or set ``agent_activation_key`` instead. With neither, the stack creates the
    endpoint only and outputs what activation needs. Default: none (the first pass)."""
    agent_activation_key: str = ""
    """Activation key read from the agent's local console (``XXXXX-XXXXX-XXXXX-XXXXX-XXXXX``, valid 30 minutes): the
    stack activates the agent against its endpoint. Default: none."""
    agent_address: str = "192.168.30.10"
    """IPv4 address of the on-prem DataSync agent, inside ``network.on_prem_cidrs``: the only address the DataSync
    endpoint admits (its security group). Default: ``192.168.30.10``, a stand-in."""
    support_channel: bool = False
    """Open TCP 22 from the agent to the endpoint, for the support channel AWS Support may ask for (DataSync user
    guide, "Network requirements when using VPC service endpoints"). Default: false, closed."""
    s3_prefix: str = ""
    """Prefix in the image bucket under which the tree lands (a file's relative path becomes its key). Default: the
    bucket root."""
    bandwidth_limit_mbps: int = 200
    """Most the task sends, in Mbit/s (the VPN also carries DMS); 0 means no limit. Default: 200."""
    schedule: str = "cron(0 1 * * ? *)"
    """When incremental runs happen before the window (EventBridge cron/rate, UTC). Default: daily at 01:00 UTC."""
    deleted_files: DeletedFiles = DeletedFiles.REMOVE
    """Objects whose file is gone on-prem. Default: remove (the bucket mirrors the tree; versioning keeps history)."""
    report_successes: bool = False
    """Task reports list every transferred file, not only errors (large for 2 TB of images). Default: false."""

    @property
    def agent_configured(self) -> bool:
        """Whether the agent is known (the second pass): only then do the locations and the task exist."""
        return bool(self.agent_arn or self.agent_activation_key)

    @property
    def bytes_per_second(self) -> int:
        """DataSync's ``BytesPerSecond``: -1 for no limit."""
        return self.bandwidth_limit_mbps * 125_000 if self.bandwidth_limit_mbps else -1

    def _checks(self) -> list[Check]:
        return [
            (not self.server.strip(), Problem("server", self.server, "must name the file server")),
            (
                ipv4(self.agent_address) is None,
                Problem("agent_address", self.agent_address, "must be the agent's IPv4 address"),
            ),
            (not self.export_path.startswith("/"), Problem("export_path", self.export_path, "must start with /")),
            (
                self.protocol is FileProtocol.SMB and not self.smb_user,
                Problem("smb_user", self.smb_user, "required with protocol 'smb'"),
            ),
            (
                bool(self.agent_arn) and bool(self.agent_activation_key),
                Problem("agent_arn", self.agent_arn, "set agent_arn or agent_activation_key, not both"),
            ),
            (
                bool(self.agent_arn) and AGENT_ARN_PATTERN.fullmatch(self.agent_arn) is None,
                Problem("agent_arn", self.agent_arn, "must be a DataSync agent ARN"),
            ),
            (
                bool(self.agent_activation_key)
                and re.fullmatch(r"[A-Z0-9]{5}(-[A-Z0-9]{5}){4}", self.agent_activation_key) is None,
                Problem("agent_activation_key", "…", "must look like ABCDE-FGHIJ-KLMNO-PQRST-UVWXY"),
            ),
            (
                self.s3_prefix.startswith("/") or "//" in self.s3_prefix or "/./" in self.s3_prefix or "/../" in self.s3_prefix,
                Problem("s3_prefix", self.s3_prefix, "DataSync refuses a prefix starting with / or containing //, /./, /../"),
            ),
            (self.bandwidth_limit_mbps < 0, Problem("bandwidth_limit_mbps", self.bandwidth_limit_mbps, "must be 0 or more")),
            (
                SCHEDULE_PATTERN.fullmatch(self.schedule) is None,
                Problem("schedule", self.schedule, "an EventBridge expression like cron(0 1 * * ? *) or rate(12 hours)"),
            ),
        ]
