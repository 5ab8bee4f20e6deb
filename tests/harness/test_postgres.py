"""The harness's PostgreSQL servers run as the ``postgres`` user: they must start from a checkout it cannot enter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness import postgres


@pytest.mark.skipif(os.geteuid() != 0, reason="the copy is made for root only (the servers then run as postgres)")
def test_binaries_in_a_private_checkout_are_copied_where_postgres_can_reach_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "home"
    install = private / "node_modules" / "pg99" / "native"
    (install / "bin").mkdir(parents=True)
    (install / "lib").mkdir()
    (install / "bin" / "postgres").write_text("#!/bin/sh\n")
    (install / "lib" / "libpq.so.5.99").write_text("")
    (install / "lib" / "libpq.so.5").symlink_to("libpq.so.5.99")
    private.chmod(0o700)
    monkeypatch.setattr(postgres, "BINARY_CACHE", Path("/tmp") / f"migration-pg-binaries-test-{os.getpid()}")
    try:
        copied = postgres.traversable_bindir(install / "bin")
        assert copied != install / "bin" and postgres._reachable_by_others(copied)
        assert (copied / "postgres").read_text() == "#!/bin/sh\n"
        assert (copied.parent / "lib" / "libpq.so.5").is_symlink()
        assert postgres.traversable_bindir(install / "bin") == copied  # made once
        public = postgres.BINARY_CACHE / "public-bin"
        public.mkdir()
        assert postgres.traversable_bindir(public) == public  # reachable: used where it is
    finally:
        import shutil

        shutil.rmtree(postgres.BINARY_CACHE, ignore_errors=True)
