"""The product images' side of the migration: ``files plan`` and ``files verify``.

:mod:`.tree` walks the image tree and maps names to object keys, :mod:`.plan` and :mod:`.costs` make the plan,
:mod:`.verify` proves the bucket holds the tree, :mod:`.commands` registers the commands and renders their results.
"""
