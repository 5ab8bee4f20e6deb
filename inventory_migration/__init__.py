"""Inventory migration kit: cdktf app, constructs and tooling to move on-prem PostgreSQL to AWS."""

__version__ = "0.1.0"
