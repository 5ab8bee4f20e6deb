"""Configuration: shipped files load; every kind of bad input fails with one clear, complete message."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from inventory_migration.config import (
    CONFIG_DIR,
    AuroraConfig,
    BackendKind,
    ConfigError,
    EngineLifecycleSupport,
    MigrationConfig,
    MigrationPhase,
    NatGatewayMode,
    OnPremConnectivity,
    available_environments,
    config_from_mapping,
    load_config,
)


def problems_of(data: dict, source: str = "test.toml") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, source=source)
    return info.value


def test_shipped_environments_load() -> None:
    assert available_environments() == ["dev", "prod"]
    dev, prod = load_config("dev"), load_config("prod")
    assert (dev.environment, prod.environment) == ("dev", "prod")
    assert dev.backend.kind is BackendKind.LOCAL and prod.backend.kind is BackendKind.S3
    assert prod.network.nat_gateways is NatGatewayMode.PER_AZ and dev.network.nat_gateways is NatGatewayMode.SINGLE
    assert prod.aurora.deletion_protection and not dev.aurora.deletion_protection
    assert dev.migration_phase is MigrationPhase.FOUNDATION


def test_dev_is_the_embedded_default(tmp_path: Path) -> None:
    assert load_config(environ={}).environment == "dev"
    # Without any file, dev still loads from the embedded defaults.
    embedded = load_config(config_dir=tmp_path, environ={})
    assert embedded == MigrationConfig(config_dir=str(tmp_path))


def test_environment_variable_selects_the_file() -> None:
    assert load_config(environ={"MIGRATION_ENV": "prod"}).environment == "prod"
    assert load_config("dev", environ={"MIGRATION_ENV": "prod"}).environment == "dev"


def test_unknown_environment_names_the_available_ones() -> None:
    with pytest.raises(ConfigError, match="environments available: dev, prod"):
        load_config("staging")


def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "qa.toml").write_text("environment = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"qa\.toml.*not valid TOML"):
        load_config("qa", config_dir=tmp_path)


def test_environment_must_match_file_name(tmp_path: Path) -> None:
    (tmp_path / "qa.toml").write_text('environment = "prod"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="must match the file name 'qa'"):
        load_config("qa", config_dir=tmp_path)


def test_file_environment_defaults_to_file_name(tmp_path: Path) -> None:
    (tmp_path / "qa.toml").write_text('environment_suffix = "x1"\n', encoding="utf-8")
    assert load_config("qa", config_dir=tmp_path).environment == "qa"


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"migration_phase": "go-live"}, "migration_phase", "allowed: 'foundation', 'full-load'"),
        ({"colour": "blue"}, "colour", "unknown key"),
        ({"network": {"vpc_cidrs": "10.0.0.0/16"}}, "network.vpc_cidrs", "unknown key; allowed keys: az_count"),
        ({"environment_suffix": "Prod"}, "environment_suffix", "1-16 of a-z"),
        ({"environment_suffix": "a_b"}, "environment_suffix", "1-16 of a-z"),
        ({"environment_suffix": "a--b"}, "environment_suffix", "without '--'"),
        ({"environment_suffix": "-ab"}, "environment_suffix", "not starting or ending"),
        ({"environment_suffix": "x" * 17}, "environment_suffix", "1-16"),
        ({"environment": "Dev"}, "environment", "lowercase"),
        ({"region": "useast1"}, "region", "AWS region"),
        ({"region": "us-east-9"}, "region", "not an AWS region"),
        ({"region": "mars-north-1"}, "region", "not an AWS region"),
        ({"aurora": {"source_parameters": {"work_mem": "16MB"}}}, "aurora.source_parameters.work_mem", "integer parameter"),
        ({"aurora": {"source_parameters": {"random_page_cost": "fast"}}}, "aurora.source_parameters.random_page_cost", "numeric"),
        ({"aurora": {"source_parameters": {"autovacuum": "maybe"}}}, "aurora.source_parameters.autovacuum", "on/off"),
        (
            {"aurora": {"source_parameters": {"log_statement": "some"}}},
            "aurora.source_parameters.log_statement",
            "allowed: none, ddl",
        ),
        ({"previous_phase": "launch"}, "previous_phase", "allowed: 'foundation'"),
        ({"dms": {"reverse_cdc_start_position": "16/B374D848x"}}, "dms.reverse_cdc_start_position", "LSN"),
        ({"dms": {"reverse_slot_name": "Way-Back"}}, "dms.reverse_slot_name", "replication slot name"),
        ({"app": {"certificate_arn": "my-cert"}}, "app.certificate_arn", "ACM certificate ARN"),
        ({"app": {"ingress_cidrs": ["0.0.0.0/0"]}}, "app.ingress_cidrs", "must not be 0.0.0.0/0"),
        ({"app": {"ingress_cidrs": []}}, "app.ingress_cidrs", "at least one client network"),
        ({"app": {"blue_targets": ["10.1.2.3"]}}, "app.blue_targets", "inside network.on_prem_cidrs"),
        ({"app": {"blue_targets": ["server-1"]}}, "app.blue_targets", "IPv4 address"),
        ({"source": {"addresses": ["10.1.2.3"]}}, "source.addresses", "inside network.on_prem_cidrs"),
        ({"source": {"addresses": ["db-1"]}}, "source.addresses", "IPv4 address"),
        ({"source": {"addresses": []}}, "source.addresses", "source server's IPv4 address"),
        ({"files": {"agent_address": "10.1.2.3"}}, "files.agent_address", "inside network.on_prem_cidrs"),
        ({"files": {"agent_address": "agent"}}, "files.agent_address", "agent's IPv4 address"),
        ({"app": {"blue_targets": []}}, "app.blue_targets", "on-prem application servers"),
        ({"app": {"container_port": 0}}, "app.container_port", "TCP port"),
        ({"app": {"health_check_path": "health"}}, "app.health_check_path", "start with /"),
        ({"app": {"cpu": 300}}, "app.cpu", "Fargate CPU units"),
        ({"app": {"cpu": 512, "memory_mib": 512}}, "app.memory_mib", "1024 to 4096"),
        ({"app": {"desired_count": 0}}, "app.desired_count", "greater than 0"),
        ({"app": {"container_image": "Not An Image"}}, "app.container_image", "image reference"),
        ({"app": {"tester_header_value": "a b"}}, "app.tester_header_value", "letters, digits"),
        ({"files": {"agent_arn": "agent-1"}}, "files.agent_arn", "DataSync agent ARN"),
        ({"files": {"agent_arn": "", "agent_activation_key": "abc"}}, "files.agent_activation_key", "ABCDE-FGHIJ"),
        ({"files": {"protocol": "ftp"}}, "files.protocol", "allowed: 'nfs', 'smb'"),
        ({"files": {"protocol": "smb"}}, "files.smb_user", "required with protocol 'smb'"),
        ({"files": {"export_path": "exports"}}, "files.export_path", "start with /"),
        ({"files": {"s3_prefix": "/images"}}, "files.s3_prefix", "starting with /"),
        ({"files": {"bandwidth_limit_mbps": -1}}, "files.bandwidth_limit_mbps", "0 or more"),
        ({"files": {"schedule": "daily"}}, "files.schedule", "cron("),
        ({"files": {"server": ""}}, "files.server", "file server"),
        ({"network": {"vpc_cidr": "192.168.0.0/16"}}, "network.on_prem_cidrs", "overlaps vpc_cidr"),
        ({"network": {"vpc_cidr": "10.0.0.0/8"}}, "network.vpc_cidr", "/16 and /22"),
        ({"network": {"vpc_cidr": "not-a-cidr"}}, "network.vpc_cidr", "CIDR notation"),
        ({"network": {"on_prem_cidrs": ["0.0.0.0/0"]}}, "network.on_prem_cidrs", "must not be 0.0.0.0/0"),
        ({"network": {"on_prem_cidrs": []}}, "network.on_prem_cidrs", "at least one"),
        ({"network": {"on_prem_cidrs": ["x"]}}, "network.on_prem_cidrs", "CIDR notation"),
        ({"network": {"az_count": 1}}, "network.az_count", "must be 2, 3 or 4"),
        ({"network": {"nat_gateways": "two"}}, "network.nat_gateways", "allowed: 'single', 'per-az', 'none'"),
        ({"network": {"customer_gateway_ip": "10.1.1.1"}}, "network.customer_gateway_ip", "public IPv4"),
        ({"network": {"customer_gateway_ip": "nope"}}, "network.customer_gateway_ip", "public IPv4"),
        ({"network": {"customer_gateway_bgp_asn": 0}}, "network.customer_gateway_bgp_asn", "1 to"),
        ({"network": {"connectivity": "transit-gateway"}}, "network.transit_gateway_id", "existing Transit Gateway"),
        ({"network": {"flow_log_retention_days": 0}}, "network.flow_log_retention_days", "CloudWatch Logs retention"),
        ({"network": "yes"}, "network", "must be a table"),
        ({"aurora": {"instance_count": 1}}, "aurora.instance_count", "at least 2"),
        ({"aurora": {"instance_count": 17}}, "aurora.instance_count", "at most 16"),
        ({"aurora": {"instance_count": "2"}}, "aurora.instance_count", "must be an integer"),
        ({"aurora": {"instance_count": True}}, "aurora.instance_count", "must be an integer"),
        ({"aurora": {"engine_major": 12}}, "aurora.engine_major", "allowed: 13, 14, 15, 16, 17"),
        ({"aurora": {"engine_version": "15.4"}}, "aurora.engine_version", "must belong to engine_major 16"),
        ({"aurora": {"instance_class": "r6g.large"}}, "aurora.instance_class", "db.r6g.large"),
        ({"aurora": {"backup_retention_days": 0}}, "aurora.backup_retention_days", "1 to 35"),
        ({"aurora": {"performance_insights_retention_days": 30}}, "aurora.performance_insights_retention_days", "multiple of 31"),
        ({"aurora": {"monitoring_interval_seconds": 2}}, "aurora.monitoring_interval_seconds", "allowed: 1, 5"),
        ({"aurora": {"port": 80}}, "aurora.port", "1150 to 65535"),
        ({"aurora": {"master_username": "postgres"}}, "aurora.master_username", "other than postgres"),
        ({"aurora": {"database_name": "Inventory"}}, "aurora.database_name", "lowercase"),
        ({"aurora": {"preferred_backup_window": "3-4"}}, "aurora.preferred_backup_window", "03:00-04:00"),
        ({"aurora": {"preferred_maintenance_window": "sunday"}}, "aurora.preferred_maintenance_window", "sun:05:00"),
        ({"aurora": {"source_parameters": {"rds.force_ssl": "0"}}}, "aurora.source_parameters.rds.force_ssl", "requires 1"),
        ({"aurora": {"source_parameters": {"Work_Mem": "1"}}}, "aurora.source_parameters.Work_Mem", "lowercase"),
        ({"aurora": {"source_parameters": {"work_mem": ["1"]}}}, "aurora.source_parameters.work_mem", "string or number"),
        ({"aurora": {"source_parameters": "work_mem=1"}}, "aurora.source_parameters", "table of name = value"),
        ({"aurora": {"engine_lifecycle_support": "forever"}}, "aurora.engine_lifecycle_support", "allowed: 'open-source"),
        ({"source": {"port": 0}}, "source.port", "TCP port"),
        (
            {"source": {"host": "pg13.corp.internal"}},
            "source.host",
            "removed: the DMS endpoints take the source's host from their secret",
        ),
        ({"network": {"operator_cidrs": ["10.9.0.0/24"]}}, "network.operator_cidrs", "inside one of on_prem_cidrs"),
        ({"network": {"on_prem_dns_servers": ["192.168.0.2"]}}, "network.on_prem_domains", "set both"),
        (
            {"network": {"on_prem_dns_servers": ["10.9.0.2"], "on_prem_domains": ["corp.internal"]}},
            "network.on_prem_dns_servers",
            "inside one of on_prem_cidrs",
        ),
        (
            {"network": {"on_prem_dns_servers": ["192.168.0.2"], "on_prem_domains": ["Corp.Internal"]}},
            "network.on_prem_domains",
            "lower case",
        ),
        (
            {
                "files": {
                    "agent_arn": "arn:aws:datasync:us-east-1:111122223333:agent/agent-0abcdef0123456789",
                    "agent_activation_key": "ABCDE-FGHIJ-KLMNO-PQRST-UVWXY",
                }
            },
            "files.agent_arn",
            "not both",
        ),
        ({"placeholders": "ignore"}, "placeholders", "allowed: 'warn', 'refuse'"),
        ({"source": {"database_name": "1db"}}, "source.database_name", "identifier"),
        ({"source": {"engine_major": 8}}, "source.engine_major", "9 to 17"),
        ({"source": {"ca_certificate_file": "missing.pem"}}, "source.ca_certificate_file", "no such file"),
        ({"dms": {"schemas": []}}, "dms.schemas", "at least one"),
        ({"dms": {"schemas": ["inv%"]}}, "dms.schemas", "no wildcards"),
        ({"dms": {"schemas": "inventory"}}, "dms.schemas", "a list of a string"),
        ({"dms": {"instance_class": "r5.large"}}, "dms.instance_class", "dms.r5.large"),
        ({"dms": {"allocated_storage_gb": 1}}, "dms.allocated_storage_gb", "5 to 6144"),
        ({"dms": {"max_full_load_subtasks": 50}}, "dms.max_full_load_subtasks", "1 to 49"),
        ({"dms": {"engine_version": "latest"}}, "dms.engine_version", "3.5.4"),
        ({"dms": {"lob_max_size_kb": 0}}, "dms.lob_max_size_kb", "greater than 0"),
        ({"storage": {"infrequent_access_days": 10}}, "storage.infrequent_access_days", "at least 30"),
        (
            {"storage": {"glacier_instant_retrieval_days": 40}},
            "storage.glacier_instant_retrieval_days",
            "at least infrequent_access_days + 30",
        ),
        (
            {"storage": {"noncurrent_expiration_days": 10}},
            "storage.noncurrent_expiration_days",
            "greater than noncurrent_glacier_days",
        ),
        (
            {"monitoring": {"thresholds": {"cdc_latency_source_seconds": 0}}},
            "monitoring.thresholds.cdc_latency_source_seconds",
            "greater than 0",
        ),
        (
            {"monitoring": {"thresholds": {"aurora_replica_lag_ms": -5}}},
            "monitoring.thresholds.aurora_replica_lag_ms",
            "greater than 0",
        ),
        ({"monitoring": {"notification_emails": ["oncall"]}}, "monitoring.notification_emails", "e-mail address"),
        ({"monitoring": {"log_retention_days": 10}}, "monitoring.log_retention_days", "CloudWatch Logs retention"),
        ({"kms": {"deletion_window_days": 3}}, "kms.deletion_window_days", "7 to 30"),
        ({"backend": {"kind": "s3"}}, "backend.bucket", "existing bucket"),
        ({"backend": {"kind": "gcs"}}, "backend.kind", "allowed: 'local', 's3'"),
        ({"cost_center": ""}, "cost_center", "tag value"),
        ({"dms": {"full_lob_tables": ["note"]}}, "dms.full_lob_tables", "schema.table"),
        ({"dms": {"excluded_tables": ["other.reading"]}}, "dms.excluded_tables", "one of ['inventory']"),
        (
            {"dms": {"full_lob_tables": ["inventory.note"], "excluded_tables": ["inventory.note"]}},
            "dms.full_lob_tables",
            "also in excluded_tables",
        ),
    ],
)
def test_bad_input_names_field_value_and_what_is_allowed(data: dict, field: str, fragment: str) -> None:
    err = problems_of(data)
    assert str(err).startswith("invalid configuration in test.toml")
    matching = [p for p in err.problems if p.field == field]
    assert matching, f"no problem reported for {field}: {err}"
    assert any(fragment in p.message for p in matching), str(err)


def test_derived_name_over_an_aws_limit_is_reported() -> None:
    # Target groups allow 32 characters: tg-green-<10>-<16> is 36.
    err = problems_of({"environment": "production", "environment_suffix": "abcdefghijklmnop"})
    assert any(
        "TARGET_GROUP name 'tg-green-production-abcdefghijklmnop' is 36 characters; AWS allows 32" in p.message
        for p in err.problems
    ), str(err)


def test_all_problems_are_reported_together() -> None:
    err = problems_of(
        {
            "migration_phase": "nope",
            "environment_suffix": "BAD",
            "network": {"vpc_cidr": "192.168.0.0/16", "az_count": 1},
            "aurora": {"instance_count": 1},
            "monitoring": {"thresholds": {"dms_cpu_percent": 0}},
        },
        source="config/broken.toml",
    )
    fields = {p.field for p in err.problems}
    assert {
        "migration_phase",
        "environment_suffix",
        "network.on_prem_cidrs",
        "network.az_count",
        "aurora.instance_count",
        "monitoring.thresholds.dms_cpu_percent",
    } <= fields
    text = str(err)
    assert "config/broken.toml" in text and "'nope'" in text and "'BAD'" in text


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "qa.toml").write_text('migration_phase = "later"\n[aurora]\ninstance_count = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config("qa", config_dir=tmp_path)
    assert str(tmp_path / "qa.toml") in str(info.value)
    assert len(info.value.problems) == 2


def test_major_past_standard_support_needs_an_explicit_lifecycle_choice() -> None:
    err = problems_of({"aurora": {"engine_major": 13}})
    assert [p.field for p in err.problems] == ["aurora.engine_lifecycle_support"]
    ok = config_from_mapping({"aurora": {"engine_major": 13, "engine_lifecycle_support": "open-source-rds-extended-support"}})
    assert ok.aurora.engine_lifecycle_support is EngineLifecycleSupport.EXTENDED_SUPPORT
    assert ok.aurora.parameter_group_family == "aurora-postgresql13"
    assert ok.aurora.resolved_engine_version.startswith("13.")


def test_standard_support_dates() -> None:
    assert AuroraConfig(engine_major=13, engine_lifecycle_support=EngineLifecycleSupport.EXTENDED_SUPPORT).needs_lifecycle_choice(
        date(2026, 3, 1)
    )
    assert not AuroraConfig(engine_major=16).needs_lifecycle_choice(date(2026, 11, 26))


def test_source_parameters_accept_numbers_and_booleans() -> None:
    config = config_from_mapping({"aurora": {"source_parameters": {"work_mem": 4096, "jit": False, "random_page_cost": 1.1}}})
    assert dict(config.aurora.source_parameters) == {"work_mem": "4096", "jit": "0", "random_page_cost": "1.1"}


def test_source_parameters_accept_what_postgresql_accepts() -> None:
    ok = {"work_mem": "16384", "random_page_cost": "1.1", "autovacuum": "on", "log_statement": "ddl", "timezone": "UTC"}
    formula = {"shared_buffers": "{DBInstanceClassMemory/32768}", "rds.custom_thing": "anything"}
    config = config_from_mapping({"aurora": {"source_parameters": {**ok, **formula}}})
    assert dict(config.aurora.source_parameters) == {**ok, **formula}


def test_regions_match_botocore() -> None:
    """AWS_REGIONS is the commercial, China and GovCloud partitions of the installed botocore."""
    from botocore.loaders import Loader

    from inventory_migration.config import AWS_REGIONS

    partitions = {p["partition"]: set(p["regions"]) for p in Loader().load_data("endpoints")["partitions"]}
    assert partitions["aws"] | partitions["aws-cn"] | partitions["aws-us-gov"] == AWS_REGIONS


def test_files_bandwidth_in_bytes() -> None:
    from inventory_migration.config import FilesConfig

    assert FilesConfig(bandwidth_limit_mbps=200).bytes_per_second == 25_000_000
    assert FilesConfig(bandwidth_limit_mbps=0).bytes_per_second == -1


def test_transit_gateway_path() -> None:
    config = config_from_mapping({"network": {"connectivity": "transit-gateway", "transit_gateway_id": "tgw-0123456789abcdef0"}})
    assert config.network.connectivity is OnPremConnectivity.TRANSIT_GATEWAY


def test_ca_file_resolves_against_the_config_dir(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    config = config_from_mapping({"source": {"ca_certificate_file": "ca.pem"}}, config_dir=str(tmp_path))
    assert config.resolve_file("ca.pem") == tmp_path / "ca.pem"


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ConfigError, match="instance_count"):
        AuroraConfig(instance_count=1)


def test_config_dir_is_the_repository_config() -> None:
    assert (CONFIG_DIR / "dev.toml").is_file()
