"""Stacks: compose the constructs and own the provider and the backend."""
