"""The harness's moto patches: applied, and each closing the gap it names."""

from __future__ import annotations

import contextlib
import threading


def test_every_patch_names_its_service_and_gap() -> None:
    from harness.aws.moto_patches import apply_patches
    from harness.aws.patch_registry import PATCHES

    apply_patches()
    assert PATCHES and all(p.service and len(p.gap) > 20 for p in PATCHES)


def test_security_group_rule_changes_wait_for_each_other() -> None:
    """Terraform changes a group's rules in parallel; moto rewrites the group's rule list without a lock (a lost or
    resurrected rule made CI's deploy rehearsal fail its destroy). A rule change now waits while another holds the
    lock."""
    from moto.ec2.models.security_groups import SecurityGroupBackend

    from harness.aws.moto_patches import apply_patches

    apply_patches()
    lock = SecurityGroupBackend._rule_lock  # type: ignore[attr-defined]
    finished = threading.Event()

    def revoke() -> None:
        with contextlib.suppress(Exception):  # no such group: it got in, that is all this checks
            SecurityGroupBackend().revoke_security_group_egress("sg-none", "tcp", "1", "1", [])
        finished.set()

    with lock:
        thread = threading.Thread(target=revoke)
        thread.start()
        assert not finished.wait(0.3), "a rule change ran while another held the lock"
    assert finished.wait(5)
    thread.join()
