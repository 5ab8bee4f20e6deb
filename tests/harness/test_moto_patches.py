"""The harness's moto patches: applied, and each closing the gap it names."""

from __future__ import annotations

import threading


def test_every_patch_names_its_service_and_gap() -> None:
    from harness.aws.moto_patches import apply_patches
    from harness.aws.patch_registry import PATCHES

    apply_patches()
    assert PATCHES and all(p.service and len(p.gap) > 20 for p in PATCHES)


def test_a_request_waits_while_another_is_served() -> None:
    """Terraform sends requests in parallel; moto's backends change their state without locks (a lost security group
    rule, then a lost ELBv2 target group, failed CI's deploy rehearsal at its destroy). A request now waits while
    another holds the server's lock, and is answered once it is released."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    apply_patches()  # applying twice wraps once
    client = Client(DomainDispatcherApplication(create_backend_app))
    lock = DomainDispatcherApplication.request_lock  # type: ignore[attr-defined]
    answered: list[int] = []
    finished = threading.Event()

    def request() -> None:
        answered.append(client.get("/moto-api/data.json").status_code)
        finished.set()

    with lock:
        thread = threading.Thread(target=request)
        thread.start()
        assert not finished.wait(0.3), "a request was served while another held the lock"
    assert finished.wait(10)
    thread.join()
    assert answered == [200]


def test_a_retried_resolver_rule_request_returns_the_rule_the_first_one_created() -> None:
    """CreatorRequestId is AWS's idempotency token: the SDK's retry of a slow CreateResolverRule (CI's deploy rehearsal,
    under load) must get the first rule back, not ResourceExistsException."""
    import boto3
    from moto import mock_aws

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    with mock_aws():
        resolver = boto3.client("route53resolver", region_name="us-east-1")
        first, again = (
            resolver.create_resolver_rule(CreatorRequestId="tf-r53-1", RuleType="SYSTEM", DomainName="example.com")
            for _ in range(2)
        )
        assert first["ResolverRule"]["Id"] == again["ResolverRule"]["Id"]
