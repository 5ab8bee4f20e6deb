"""AWS DataSync: the ~2 TB of product images from the on-prem file system into the image bucket, privately.

* A DataSync **interface VPC endpoint** in the private migration subnets with its own security group: only the
  ports DataSync documents for an agent talking to a VPC service endpoint (TCP 443 for data, 1024-1064 for the
  control plane; 22 for the support channel only with ``files.support_channel``), only from the agent's address
  (``files.agent_address``). Files never cross the public internet.
* The on-prem **agent**, activated against that endpoint — so the first deploy comes in two passes: the first creates
  the endpoint and outputs what activation needs (its id, private IP, subnet and security group); the agent is
  activated on-prem; the second pass, with ``files.agent_arn`` (or ``files.agent_activation_key``: the stack activates
  it) set, adds the rest. Then an **NFS** (or SMB) location on the export, and an **S3 location** on the image bucket
  whose bucket-access role has exactly the actions DataSync documents for an S3 location, plus the bucket's key
  through S3.
* The **task**: incremental (``CHANGED``), verification of what it transferred, mtime/atime and POSIX metadata kept
  (DataSync stores them as object metadata), deleted-file handling and a bandwidth limit from config, a schedule
  for the incremental runs before the window, logs to a CMK-encrypted log group, a task report to the log bucket.
* A failed execution notifies the alarm topic (EventBridge rule → SNS); verification errors in the task log become a
  metric for the dashboard.

What runs follows the phase (``inventory_migration/contracts/phases.py``): scheduled through ``cdc``, on demand in the window
(the runbook starts the final run), and removed — all but the log group, kept as evidence — at ``decommission``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from inventory_migration.config.files import DeletedFiles, FileProtocol, FilesConfig
from inventory_migration.constructs.wiring import check_wiring
from inventory_migration.contracts.phases import ImageSync
from inventory_migration.synth.cdk import Construct, Fn, TerraformVariable, aws
from inventory_migration.synth.iam import KMS_DATA_KEY_ACTIONS, policy_json, statement
from inventory_migration.synth.naming import Namer, ResourceType
from inventory_migration.synth.rendering import json_attribute
from inventory_migration.synth.tagging import name_tag

ENDPOINT_PORTS: tuple[tuple[int, int, str], ...] = (
    (443, 443, "data transfer"),
    (1024, 1064, "control plane"),
    (22, 22, "support channel"),
)
"""What an agent opens to a DataSync VPC service endpoint (DataSync user guide, network requirements)."""
SUPPORT_CHANNEL_PORT = 22
"""Opened only with ``files.support_channel`` (when AWS Support asks for it)."""
S3_LOCATION_BUCKET_ACTIONS = ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads")
S3_LOCATION_OBJECT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionTagging",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectTagging",
)
"""The bucket-access role of an S3 location, exactly as the DataSync user guide lists it ("Providing DataSync access
to S3 buckets")."""
TASK_FAILED_PATTERN = {
    "source": ["aws.datasync"],
    "detail-type": ["DataSync Task Execution State Change"],
    "detail": {"State": ["ERROR"]},
}
VERIFICATION_ERROR_PATTERN = '"Verification failed"'
"""What DataSync writes to the task log for a file whose verification failed."""
METRIC_NAMESPACE = "InventoryMigration/DataSync"
REPORT_PREFIX = "datasync-reports"
SMB_PASSWORD_VARIABLE = "datasync_smb_password"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageTransferWiring:
    """What :class:`ImageTransfer` takes from the stack besides its settings (``[files]``, ``FilesConfig``)."""

    namer: Namer
    """Derives names."""
    region: str
    """Region of the endpoint service and the log policy."""
    account_id: str
    """Account of the task (conditions on the log and trust policies)."""
    partition: str
    """AWS partition."""
    vpc_id: str
    """VPC of the endpoint."""
    subnet_ids: Sequence[str]
    """Private subnets (routed to on-prem) of the endpoint."""
    bucket_arn: str
    """The image bucket."""
    bucket_key_arn: str
    """CMK of the image bucket."""
    report_bucket_arn: str
    """Bucket (the log bucket) for the task reports."""
    logs_key_arn: str
    """CMK of the task log group."""
    alarm_topic_arn: str
    """Where a failed execution is reported."""
    sync: ImageSync
    """The phase's state of the task."""
    log_retention_days: int
    """Task log retention (``monitoring.log_retention_days``)."""

    def __post_init__(self) -> None:
        check_wiring(
            self,
            (not self.subnet_ids, "subnet_ids: at least one"),
        )


class ImageTransfer(Construct):
    """DataSync from the on-prem file system to the image bucket, over a private endpoint."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: FilesConfig, wiring: ImageTransferWiring) -> None:
        super().__init__(scope, construct_id)
        self.settings, self.wiring = settings, wiring
        s, w = settings, wiring
        n = w.namer
        log_name = n.name(ResourceType.LOG_GROUP, "datasync")
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "logs",
            name=log_name,
            kms_key_id=w.logs_key_arn,
            retention_in_days=w.log_retention_days,
            tags=name_tag(log_name),
        )
        self.task: aws.datasync_task.DatasyncTask | None = None
        self.endpoint: aws.vpc_endpoint.VpcEndpoint | None = None
        if w.sync is not ImageSync.ABSENT:
            self._endpoint()
            if s.agent_arn or s.agent_activation_key:
                self._transfer()

    def _transfer(self) -> None:
        s, w, n = self.settings, self.wiring, self.wiring.namer
        agent_arn = s.agent_arn or self._agent()
        self.bucket_access_role = self._bucket_access_role()
        subdirectory = f"/{s.s3_prefix}" if s.s3_prefix else "/"
        self.s3_location = aws.datasync_location_s3.DatasyncLocationS3(
            self,
            "s3-location",
            s3_bucket_arn=w.bucket_arn,
            subdirectory=subdirectory,
            s3_storage_class="STANDARD",
            s3_config=aws.datasync_location_s3.DatasyncLocationS3S3Config(bucket_access_role_arn=self.bucket_access_role.arn),
            tags=name_tag(n.name(ResourceType.DATASYNC_LOCATION, "images")),
            depends_on=[self.bucket_access_policy],
        )
        self.source_location = self._source_location(agent_arn)
        aws.cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
            self,
            "log-policy",
            policy_name=n.name(ResourceType.IAM_POLICY, "datasync-logs"),
            policy_document=policy_json(
                self,
                statement(
                    "DataSyncWritesTaskLogs",
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [f"{self.log_group.arn}:*"],
                    principal={"Service": "datasync.amazonaws.com"},
                    condition={
                        "ArnLike": {"aws:SourceArn": f"arn:{w.partition}:datasync:{w.region}:{w.account_id}:task/*"},
                        "StringEquals": {"aws:SourceAccount": w.account_id},
                    },
                ),
            ),
        )
        name = n.name(ResourceType.DATASYNC_TASK, "images")
        report_level = "SUCCESSES_AND_ERRORS" if s.report_successes else "ERRORS_ONLY"
        self.task = aws.datasync_task.DatasyncTask(
            self,
            "task",
            name=name,
            source_location_arn=self.source_location,
            destination_location_arn=self.s3_location.arn,
            cloudwatch_log_group_arn=self.log_group.arn,
            options=aws.datasync_task.DatasyncTaskOptions(
                transfer_mode="CHANGED",
                verify_mode="ONLY_FILES_TRANSFERRED",
                overwrite_mode="ALWAYS",
                mtime="PRESERVE",
                atime="BEST_EFFORT",
                uid="INT_VALUE",
                gid="INT_VALUE",
                posix_permissions="PRESERVE",
                preserve_devices="NONE",
                preserve_deleted_files="REMOVE" if s.deleted_files is DeletedFiles.REMOVE else "PRESERVE",
                bytes_per_second=s.bytes_per_second,
                task_queueing="ENABLED",
                log_level="BASIC",
                object_tags="PRESERVE",
            ),
            task_report_config=aws.datasync_task.DatasyncTaskTaskReportConfig(
                output_type="STANDARD",
                report_level=report_level,
                # Stated per kind as well: the provider reads an absent override back as an empty block, a perpetual
                # diff; explicit values read back as themselves.
                report_overrides=aws.datasync_task.DatasyncTaskTaskReportConfigReportOverrides(
                    deleted_override=report_level,
                    skipped_override=report_level,
                    transferred_override=report_level,
                    verified_override=report_level,
                ),
                s3_object_versioning="INCLUDE",
                s3_destination=aws.datasync_task.DatasyncTaskTaskReportConfigS3Destination(
                    bucket_access_role_arn=self.bucket_access_role.arn,
                    s3_bucket_arn=w.report_bucket_arn,
                    subdirectory=REPORT_PREFIX,
                ),
            ),
            schedule=aws.datasync_task.DatasyncTaskSchedule(schedule_expression=s.schedule)
            if w.sync is ImageSync.SCHEDULED
            else None,
            tags=name_tag(name),
        )
        self._failure_notification()
        aws.cloudwatch_log_metric_filter.CloudwatchLogMetricFilter(
            self,
            "task-verification-errors",
            name=n.name(ResourceType.ALARM, "datasync-verification-errors"),
            log_group_name=self.log_group.name,
            pattern=VERIFICATION_ERROR_PATTERN,
            metric_transformation=aws.cloudwatch_log_metric_filter.CloudwatchLogMetricFilterMetricTransformation(
                name="VerificationErrors", namespace=METRIC_NAMESPACE, value="1", default_value="0"
            ),
        )

    def _endpoint(self) -> None:
        w, n = self.wiring, self.wiring.namer
        name = n.name(ResourceType.SECURITY_GROUP, "datasync-endpoint")
        self.endpoint_security_group = aws.security_group.SecurityGroup(
            self,
            "endpoint-sg",
            name=name,
            description=f"DataSync VPC endpoint: only the on-prem agent ({name})",
            vpc_id=w.vpc_id,
            tags=name_tag(name),
        )
        agent = self.settings.agent_address
        for low, high, purpose in ENDPOINT_PORTS:
            if low == SUPPORT_CHANNEL_PORT and not self.settings.support_channel:
                continue
            rule_id = f"endpoint-from-agent-{low}"
            aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
                self,
                rule_id,
                security_group_id=self.endpoint_security_group.id,
                description=f"The DataSync agent {agent} reaches the endpoint ({purpose})",
                ip_protocol="tcp",
                from_port=low,
                to_port=high,
                cidr_ipv4=f"{agent}/32",
                tags=name_tag(n.name(ResourceType.SECURITY_GROUP_RULE, rule_id)),
            )
        self.endpoint = aws.vpc_endpoint.VpcEndpoint(
            self,
            "endpoint",
            vpc_id=w.vpc_id,
            service_name=f"com.amazonaws.{w.region}.datasync",
            vpc_endpoint_type="Interface",
            subnet_ids=list(w.subnet_ids)[:1],
            security_group_ids=[self.endpoint_security_group.id],
            private_dns_enabled=False,
            tags=name_tag(n.name(ResourceType.VPC_ENDPOINT, "datasync")),
        )
        # What the agent's activation needs (the first pass outputs it): the endpoint's private IP, on its one interface.
        self.endpoint_interface = aws.data_aws_network_interface.DataAwsNetworkInterface(
            self, "endpoint-interface", id=Fn.element(Fn.tolist(self.endpoint.network_interface_ids), 0)
        )
        self.endpoint_subnet_arn = f"arn:{w.partition}:ec2:{w.region}:{w.account_id}:subnet/{w.subnet_ids[0]}"
        self.endpoint_security_group_arn = (
            f"arn:{w.partition}:ec2:{w.region}:{w.account_id}:security-group/{self.endpoint_security_group.id}"
        )

    def _agent(self) -> str:
        s, n = self.settings, self.wiring.namer
        name = n.name(ResourceType.DATASYNC_AGENT, "images")
        agent = aws.datasync_agent.DatasyncAgent(
            self,
            "agent",
            name=name,
            activation_key=s.agent_activation_key,
            vpc_endpoint_id=self.endpoint.id,  # type: ignore[union-attr]
            private_link_endpoint=self.endpoint_interface.private_ip,
            security_group_arns=[self.endpoint_security_group_arn],
            subnet_arns=[self.endpoint_subnet_arn],
            tags=name_tag(name),
        )
        return str(agent.arn)

    def _bucket_access_role(self) -> aws.iam_role.IamRole:
        w, n = self.wiring, self.wiring.namer
        name = n.name(ResourceType.IAM_ROLE, "datasync-s3")
        trust = policy_json(
            self,
            statement(
                "DataSyncAssumes",
                ["sts:AssumeRole"],
                None,
                principal={"Service": "datasync.amazonaws.com"},
                condition={
                    "StringEquals": {"aws:SourceAccount": w.account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{w.partition}:datasync:{w.region}:{w.account_id}:*"},
                },
            ),
        )
        role = aws.iam_role.IamRole(self, "bucket-access-role", name=name, assume_role_policy=trust, tags=name_tag(name))
        buckets = [w.bucket_arn, w.report_bucket_arn]
        self.bucket_access_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "bucket-access",
            name=n.name(ResourceType.IAM_POLICY, "datasync-s3"),
            role=role.id,
            policy=policy_json(
                self,
                statement(
                    "AWSDataSyncS3BucketPermissions",
                    S3_LOCATION_BUCKET_ACTIONS,
                    buckets,
                    condition={"StringEquals": {"aws:ResourceAccount": w.account_id}},
                ),
                statement(
                    "AWSDataSyncS3ObjectPermissions",
                    S3_LOCATION_OBJECT_ACTIONS,
                    [f"{b}/*" for b in buckets],
                    condition={"StringEquals": {"aws:ResourceAccount": w.account_id}},
                ),
                statement(
                    "UseImageBucketKey",
                    KMS_DATA_KEY_ACTIONS,
                    [w.bucket_key_arn],
                    condition={"StringEquals": {"kms:ViaService": f"s3.{w.region}.amazonaws.com"}},
                ),
            ),
        )
        return role

    def _source_location(self, agent_arn: str) -> str:
        s, n = self.settings, self.wiring.namer
        tags = name_tag(n.name(ResourceType.DATASYNC_LOCATION, "on-prem"))
        if s.protocol is FileProtocol.SMB:
            password = TerraformVariable(
                self,
                SMB_PASSWORD_VARIABLE,
                type="string",
                sensitive=True,
                description="Password of the SMB user DataSync reads the image share with (set TF_VAR_datasync_smb_password)",
            )
            password.override_logical_id(SMB_PASSWORD_VARIABLE)  # TF_VAR_datasync_smb_password, whatever the construct path
            smb = aws.datasync_location_smb.DatasyncLocationSmb(
                self,
                "smb-location",
                agent_arns=[agent_arn],
                server_hostname=s.server,
                subdirectory=s.export_path,
                user=s.smb_user,
                domain=s.smb_domain or None,
                password=password.string_value,
                tags=tags,
            )
            return str(smb.arn)
        nfs = aws.datasync_location_nfs.DatasyncLocationNfs(
            self,
            "nfs-location",
            server_hostname=s.server,
            subdirectory=s.export_path,
            on_prem_config=aws.datasync_location_nfs.DatasyncLocationNfsOnPremConfig(agent_arns=[agent_arn]),
            mount_options=aws.datasync_location_nfs.DatasyncLocationNfsMountOptions(version="AUTOMATIC"),
            tags=tags,
        )
        return str(nfs.arn)

    def _failure_notification(self) -> None:
        w, n = self.wiring, self.wiring.namer
        assert self.task is not None
        name = n.name(ResourceType.EVENT_RULE, "datasync-failed")
        pattern = {**TASK_FAILED_PATTERN, "resources": [{"prefix": self.task.arn}]}
        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "task-failed",
            name=name,
            description="A DataSync execution of the image transfer failed",
            event_pattern=json_attribute(self, pattern, sort_keys=True),
            tags=name_tag(name),
        )
        aws.cloudwatch_event_target.CloudwatchEventTarget(
            self, "task-failed-target", rule=rule.name, arn=w.alarm_topic_arn, target_id="alarm-topic"
        )
