"""moto patches for the data movers: DataSync and DMS (registered on import; :mod:`.moto_patches` applies them)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

from harness.aws.patch_registry import epoch as _epoch
from harness.aws.patch_registry import patch


@patch(
    "datasync",
    "NFS locations, agents, resource tags, and the task's Schedule / TaskReportConfig / TaskMode are not implemented",
)
def _datasync() -> None:
    from moto.datasync.models import DataSyncBackend, Location, Task
    from moto.datasync.responses import DataSyncResponse

    tags: dict[str, dict[str, str]] = {}
    agents: dict[str, dict[str, Any]] = {}
    counter = itertools.count(1)

    def _tags_in(self: Any, arn: str) -> None:
        tags[arn] = {t["Key"]: t["Value"] for t in self._get_param("Tags") or []}

    def create_location_nfs(self: Any) -> str:
        server, subdirectory = self._get_param("ServerHostname"), self._get_param("Subdirectory")
        metadata = {
            "OnPremConfig": self._get_param("OnPremConfig"),
            "MountOptions": self._get_param("MountOptions") or {"Version": "AUTOMATIC"},
        }
        arn = self.datasync_backend.create_location(f"nfs://{server}{subdirectory}", typ="NFS", metadata=metadata)
        _tags_in(self, arn)
        return json.dumps({"LocationArn": arn})

    def describe_location_nfs(self: Any) -> str:
        location = self.datasync_backend._get_location(self._get_param("LocationArn"), typ="NFS")
        return json.dumps({"LocationArn": location.arn, "LocationUri": location.uri, **location.metadata})

    original_s3 = DataSyncResponse.create_location_s3
    original_smb = DataSyncResponse.create_location_smb

    def create_location_s3(self: Any) -> str:
        out = original_s3(self)
        arn = json.loads(out)["LocationArn"]
        self.datasync_backend.locations[arn].metadata["S3StorageClass"] = self._get_param("S3StorageClass") or "STANDARD"
        _tags_in(self, arn)
        return out

    def describe_location_s3(self: Any) -> str:
        location = self.datasync_backend._get_location(self._get_param("LocationArn"), typ="S3")
        bucket, _, rest = location.uri.removeprefix("s3://").partition("/")
        location.uri = f"s3://{bucket}/{rest.strip('/') + '/' if rest.strip('/') else ''}"  # AWS: one slash, trailing
        return json.dumps({"LocationArn": location.arn, "LocationUri": location.uri, **location.metadata})

    def create_location_smb(self: Any) -> str:
        out = original_smb(self)
        _tags_in(self, json.loads(out)["LocationArn"])
        return out

    def create_agent(self: Any) -> str:
        arn = f"arn:aws:datasync:{self.region}:{self.current_account}:agent/agent-{next(counter):017x}"
        agents[arn] = {"Name": self._get_param("AgentName"), "Status": "ONLINE", "EndpointType": "PRIVATE_LINK"}
        _tags_in(self, arn)
        return json.dumps({"AgentArn": arn})

    def describe_agent(self: Any) -> str:
        arn = self._get_param("AgentArn")
        return json.dumps({"AgentArn": arn, **agents[arn]})

    def update_agent(self: Any) -> str:
        agents[self._get_param("AgentArn")]["Name"] = self._get_param("Name")
        return json.dumps({})

    def delete_agent(self: Any) -> str:
        agents.pop(self._get_param("AgentArn"), None)
        return json.dumps({})

    task_fields = ("CloudWatchLogGroupArn", "Options", "Excludes", "Includes", "Schedule", "TaskReportConfig", "TaskMode")

    def create_task(self: Any) -> str:
        metadata = {k: self._get_param(k) for k in task_fields}
        arn = self.datasync_backend.create_task(
            self._get_param("SourceLocationArn"),
            self._get_param("DestinationLocationArn"),
            self._get_param("Name"),
            metadata=metadata,
        )
        _tags_in(self, arn)
        return json.dumps({"TaskArn": arn})

    def update_task(self: Any) -> str:
        task = self.datasync_backend._get_task(self._get_param("TaskArn"))
        body = json.loads(self.body)
        for key in task_fields:
            if key in body:
                task.metadata[key] = body[key] or None
        if "Name" in body:
            task.name = body["Name"]
        return json.dumps({})

    def prune(value: Any) -> Any:
        """AWS leaves empty structures out of its answers."""
        if isinstance(value, dict):
            pruned = {k: prune(v) for k, v in value.items()}
            return {k: v for k, v in pruned.items() if v not in (None, {}, [], "")}  # "" clears (UpdateTask)
        return value

    def describe_task(self: Any) -> str:
        task = self.datasync_backend._get_task(self._get_param("TaskArn"))
        metadata = {k: prune(v) for k, v in task.metadata.items() if prune(v)}
        metadata.setdefault("TaskMode", "BASIC")
        return json.dumps(
            {
                "TaskArn": task.arn,
                "Status": task.status,
                "Name": task.name,
                "SourceLocationArn": task.source_location_arn,
                "DestinationLocationArn": task.destination_location_arn,
                "CreationTime": dt.datetime.now(dt.UTC).timestamp(),
                **metadata,
            }
        )

    def list_tags_for_resource(self: Any) -> str:
        arn = self._get_param("ResourceArn")
        return json.dumps({"Tags": [{"Key": k, "Value": v} for k, v in tags.get(arn, {}).items()]})

    def tag_resource(self: Any) -> str:
        tags.setdefault(self._get_param("ResourceArn"), {}).update({t["Key"]: t["Value"] for t in self._get_param("Tags")})
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        for key in self._get_param("Keys"):
            tags.get(self._get_param("ResourceArn"), {}).pop(key, None)
        return json.dumps({})

    for name, fn in list(locals().items()):
        if callable(fn) and not name.startswith(("_", "original")) and name not in ("task_fields", "prune"):
            setattr(DataSyncResponse, name, fn)
    del DataSyncBackend, Location, Task


@patch(
    "dms",
    "replication instances and subnet groups describe a fixed fake subnet (subnet-12345 in vpc-12345), not their own "
    "subnets (the applied network's analysis reads them); a subnet group is created without dms-vpc-role and its "
    "policy, which AWS refuses",
)
def _dms_subnet_groups() -> None:
    from moto.dms.models import DatabaseMigrationServiceBackend, FakeReplicationInstance, FakeReplicationSubnetGroup, dms_backends
    from moto.ec2.models import ec2_backends

    def subnets_of(subnet_ids: list[str], account: str, region: str) -> tuple[str, list[dict[str, Any]]]:
        ec2 = ec2_backends[account][region]
        out, vpc = [], ""
        for subnet_id in subnet_ids:
            subnet = ec2.get_subnet(subnet_id)
            vpc = subnet.vpc_id
            out.append(
                {
                    "SubnetIdentifier": subnet_id,
                    "SubnetAvailabilityZone": {"Name": subnet.availability_zone},
                    "SubnetStatus": "Active",
                }
            )
        return vpc, out

    original_group = FakeReplicationSubnetGroup.to_dict
    original_instance = FakeReplicationInstance.to_dict

    def group_to_dict(self: Any) -> dict[str, Any]:
        out = original_group(self)
        account, region = getattr(self, "_where", ("", ""))
        if account and self.subnetIds:
            out["VpcId"], out["Subnets"] = subnets_of(list(self.subnetIds), account, region)
        return out

    def instance_to_dict(self: Any) -> dict[str, Any]:
        out = original_instance(self)
        _arn, _partition, _service, region, account = self.arn.split(":")[:5]
        group = dms_backends[account][region].replication_subnet_groups.get(self.replication_subnet_group_identifier)
        if group is not None and out.get("ReplicationSubnetGroup") and group.subnetIds:
            vpc, subnets = subnets_of(list(group.subnetIds), account, region)
            out["ReplicationSubnetGroup"] = {**out["ReplicationSubnetGroup"], "VpcId": vpc, "Subnets": subnets}
        return out

    original_create = DatabaseMigrationServiceBackend.create_replication_subnet_group

    def create_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        require_vpc_role(self.account_id)
        group = original_create(self, *args, **kwargs)
        group._where = (self.account_id, self.region_name)  # type: ignore[attr-defined]
        return group

    FakeReplicationSubnetGroup.to_dict = group_to_dict  # type: ignore[method-assign]
    FakeReplicationInstance.to_dict = instance_to_dict  # type: ignore[method-assign]
    DatabaseMigrationServiceBackend.create_replication_subnet_group = create_group  # type: ignore[method-assign]


DMS_VPC_ROLE = "dms-vpc-role"
DMS_VPC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"


def require_vpc_role(account: str) -> None:
    """AWS's precondition, which moto does not hold: DMS creates a subnet group only once ``dms-vpc-role`` exists with
    AmazonDMSVPCManagementRole attached ("The IAM Role arn:aws:iam::…:role/dms-vpc-role is not configured properly",
    the race terraform-provider-aws users meet when the attachment is not a dependency of the subnet group)."""
    from moto.core.exceptions import JsonRESTError
    from moto.iam.models import iam_backends

    roles = {r.name: r for r in iam_backends[account]["aws"].roles.values()}
    role = roles.get(DMS_VPC_ROLE)
    attached = {p["PolicyArn"] if isinstance(p, dict) else str(p) for p in (role.attached_managed_policies if role else ())}
    if DMS_VPC_POLICY not in attached:
        raise JsonRESTError(
            "AccessDeniedFault", f"The IAM Role arn:aws:iam::{account}:role/{DMS_VPC_ROLE} is not configured properly."
        )


@patch("dms", "TestConnection of an endpoint tested before fails (an unbound name in moto): AWS tests it again")
def _dms_retest() -> None:
    from moto.dms.models import DatabaseMigrationServiceBackend

    original = DatabaseMigrationServiceBackend.test_connection

    def test_connection(self: Any, replication_instance_arn: str, endpoint_arn: str) -> Any:
        for existing in self.connections:
            if existing.replication_instance_arn == replication_instance_arn and existing.endpoint_arn == endpoint_arn:
                existing.status = "testing"
                return existing
        return original(self, replication_instance_arn, endpoint_arn)

    DatabaseMigrationServiceBackend.test_connection = test_connection  # type: ignore[method-assign]


@patch(
    "dms",
    "timestamps are ISO strings where the SDK wants epoch numbers; tasks never leave 'creating' and ignore their CDC "
    "start position; ModifyReplicationTask, event subscriptions and Add/RemoveTagsToResource are not implemented; "
    "StopReplicationTask on a task that is not running says 'is not running' where AWS says 'is currently not "
    "running', the answer the provider treats as already stopped (a retried stop failed CI's deploy rehearsal)",
)
def _dms() -> None:
    from moto.core.utils import utcnow
    from moto.dms.exceptions import InvalidResourceStateFault
    from moto.dms.models import FakeReplicationInstance, FakeReplicationTask
    from moto.dms.responses import DatabaseMigrationServiceResponse

    original_task_to_dict = FakeReplicationTask.to_dict
    original_instance_to_dict = FakeReplicationInstance.to_dict

    def task_to_dict(self: Any) -> dict[str, Any]:
        if self.status == "creating":
            self.status = "ready"
        out = original_task_to_dict(self)
        for key in ("ReplicationTaskCreationDate", "ReplicationTaskStartDate"):
            out[key] = _epoch(out.get(key))
        out["ReplicationTaskStats"] = {k: _epoch(v) for k, v in out["ReplicationTaskStats"].items() if v is not None}
        out = {k: v for k, v in out.items() if v is not None}
        if getattr(self, "cdc_start_position", None):
            out["CdcStartPosition"] = self.cdc_start_position
        if self.status == "stopped":
            out["StopReason"] = "Stop Reason NORMAL"
        return out

    def instance_to_dict(self: Any) -> dict[str, Any]:
        out = original_instance_to_dict(self)
        out["InstanceCreateTime"] = _epoch(out.get("InstanceCreateTime"))
        return out

    def stop(self: Any) -> Any:
        if self.status != "running":
            raise InvalidResourceStateFault(f"Replication task {self.id} is currently not running")
        self.status = "stopped"
        self.stop_date = utcnow()
        return self

    FakeReplicationTask.to_dict = task_to_dict  # type: ignore[method-assign]
    FakeReplicationTask.stop = stop  # type: ignore[method-assign]
    FakeReplicationInstance.to_dict = instance_to_dict  # type: ignore[method-assign]

    original_create_task = DatabaseMigrationServiceResponse.create_replication_task
    original_start = DatabaseMigrationServiceResponse.start_replication_task

    def create_replication_task(self: Any) -> str:
        out = original_create_task(self)
        arn = json.loads(out)["ReplicationTask"]["ReplicationTaskArn"]
        task = self.dms_backend.replication_tasks[arn]
        task.cdc_start_position = self._get_param("CdcStartPosition")
        task.status = "ready"
        return json.dumps({"ReplicationTask": task.to_dict()})

    def start_replication_task(self: Any) -> str:
        arn = self._get_param("ReplicationTaskArn")
        task = self.dms_backend.replication_tasks[arn]
        if self._get_param("CdcStartPosition"):
            task.cdc_start_position = self._get_param("CdcStartPosition")
        return original_start(self)

    def modify_replication_task(self: Any) -> str:
        task = self.dms_backend.replication_tasks[self._get_param("ReplicationTaskArn")]
        for param, attribute in (
            ("MigrationType", "migration_type"),
            ("TableMappings", "table_mappings"),
            ("ReplicationTaskSettings", "replication_task_settings"),
            ("CdcStartPosition", "cdc_start_position"),
        ):
            if self._get_param(param) is not None:
                setattr(task, attribute, self._get_param(param))
        task.status = "ready" if task.status in ("creating", "ready") else task.status
        return json.dumps({"ReplicationTask": task.to_dict()})

    from moto.dms.models import FakeReplicationSubnetGroup

    original_group_to_dict = FakeReplicationSubnetGroup.to_dict

    def group_to_dict(self: Any) -> dict[str, Any]:
        out = original_group_to_dict(self)
        out["Subnets"] = [
            {"SubnetIdentifier": s, "SubnetAvailabilityZone": {"Name": "us-east-1a"}, "SubnetStatus": "Active"}
            for s in self.subnetIds or []
        ]
        return out

    FakeReplicationSubnetGroup.to_dict = group_to_dict  # type: ignore[method-assign]
    original_create_group = DatabaseMigrationServiceResponse.create_replication_subnet_group

    def create_replication_subnet_group(self: Any) -> str:
        name = self._get_param("ReplicationSubnetGroupIdentifier")
        original_create_group(self)
        group = self.dms_backend.replication_subnet_groups[name]
        group.subnetIds = self._get_param("SubnetIds")
        out = json.dumps({"ReplicationSubnetGroup": group.to_dict()})
        arn = f"arn:aws:dms:{self.region}:{self.current_account}:subgrp:{name}"
        self.dms_backend.tag_resource(arn, {t["Key"]: t["Value"] for t in self._get_param("Tags") or []})
        return str(out)

    subscriptions: dict[str, dict[str, Any]] = {}

    def _subscription(name: str) -> dict[str, Any]:
        return subscriptions[name]

    def create_event_subscription(self: Any) -> str:
        name = self._get_param("SubscriptionName")
        subscriptions[name] = {
            "CustomerAwsId": self.current_account,
            "CustSubscriptionId": name,
            "SnsTopicArn": self._get_param("SnsTopicArn"),
            "Status": "active",
            "SubscriptionCreationTime": dt.datetime.now(dt.UTC).isoformat(),
            "SourceType": self._get_param("SourceType"),
            "SourceIdsList": self._get_param("SourceIds") or [],
            "EventCategoriesList": self._get_param("EventCategories") or [],
            "Enabled": bool(self._get_param("Enabled", True)),
        }
        arn = f"arn:aws:dms:{self.region}:{self.current_account}:es:{name}"
        self.dms_backend.tag_resource(arn, {t["Key"]: t["Value"] for t in self._get_param("Tags") or []})
        return json.dumps({"EventSubscription": subscriptions[name]})

    def describe_event_subscriptions(self: Any) -> Any:
        name = self._get_param("SubscriptionName")
        found = [s for n, s in subscriptions.items() if name in (None, n)]
        if name and not found:
            return self._error("ResourceNotFoundFault", f"Event subscription {name} not found")
        return json.dumps({"EventSubscriptionsList": found})

    def modify_event_subscription(self: Any) -> str:
        sub = _subscription(self._get_param("SubscriptionName"))
        for param, key in (
            ("SnsTopicArn", "SnsTopicArn"),
            ("SourceType", "SourceType"),
            ("EventCategories", "EventCategoriesList"),
        ):
            if self._get_param(param) is not None:
                sub[key] = self._get_param(param)
        if self._get_param("Enabled") is not None:
            sub["Enabled"] = bool(self._get_param("Enabled"))
        return json.dumps({"EventSubscription": sub})

    def delete_event_subscription(self: Any) -> str:
        sub = subscriptions.pop(self._get_param("SubscriptionName"))
        return json.dumps({"EventSubscription": sub})

    def add_tags_to_resource(self: Any) -> str:
        self.dms_backend.tag_resource(self._get_param("ResourceArn"), {t["Key"]: t["Value"] for t in self._get_param("Tags")})
        return json.dumps({})

    def remove_tags_from_resource(self: Any) -> str:
        self.dms_backend.untag_resource(self._get_param("ResourceArn"), self._get_param("TagKeys"))
        return json.dumps({})

    def _error(self: Any, code: str, message: str) -> Any:
        return 400, {"x-amzn-ErrorType": code}, json.dumps({"__type": code, "message": message})

    for name, fn in list(locals().items()):
        if name in (
            "create_replication_task",
            "start_replication_task",
            "modify_replication_task",
            "create_event_subscription",
            "describe_event_subscriptions",
            "modify_event_subscription",
            "delete_event_subscription",
            "add_tags_to_resource",
            "remove_tags_from_resource",
            "create_replication_subnet_group",
            "_error",
        ):
            setattr(DatabaseMigrationServiceResponse, name, fn)


@patch(
    "dms",
    "a started task replicates nothing and has no table statistics (DescribeTableStatistics is not implemented) or "
    "CDC latency: a task whose endpoints are PostgreSQL servers on this machine is run by the DMS stand-in "
    "(harness/dms/served.py)",
)
def _dms_standin() -> None:
    from harness.dms.served import install  # after _dms (registered above): it wraps the task _dms patched

    install()
