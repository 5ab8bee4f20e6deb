"""One typed construct per concern. None of them declares a provider or a backend: stacks own those."""
