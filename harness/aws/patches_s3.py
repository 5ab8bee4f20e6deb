"""moto's S3 listing at S3's cost: a page in O(log N + page) instead of a scan and sort of the whole bucket.

moto (5.2) answers every ``ListObjects``/``ListObjectsV2`` request by iterating every key of the bucket, sorting the
matches, then cutting the page: about 0.24 s per request at 100,000 keys, whatever the prefix or the page size. A tool
that lists in many small requests (``rclone`` lists one directory per request) then measures moto, not itself. This
patch keeps each bucket's key names sorted (rebuilt only when a name is added or removed) and answers a page by
bisecting to its start and walking forward; a delimiter's common prefix is skipped in one bisection. The answers are
S3's: keys and common prefixes merged in UTF-8 byte order (code point order), truncated together at ``MaxKeys``,
objects whose current version is a delete marker left out (a common prefix only where a current object lies under
it). ``tests/harness/test_patches_s3.py`` holds it to a model of S3's listing over generated key sets.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

from harness.aws.patch_registry import patch

_INDEX = "_harness_sorted_names"


def _names(bucket: Any) -> list[str]:
    store = bucket.keys
    names: list[str] | None = store.__dict__.get(_INDEX)
    if names is None:
        names = sorted(dict.keys(store))
        store.__dict__[_INDEX] = names
    return names


def _after(names: list[str], marker: str | None, prefix: str, delimiter: str | None) -> int:
    """Where a page resumes: after ``marker``, and after everything under it when it is a common prefix (the delimiter
    past the prefix: a key ending with the delimiter inside the prefix is listed as a key)."""
    if not marker:
        return 0
    if delimiter and marker.endswith(delimiter) and marker.startswith(prefix) and marker.find(delimiter, len(prefix)) >= 0:
        return bisect.bisect_left(names, _past(marker))
    return bisect.bisect_right(names, marker)


def _past(folder: str) -> str:
    """The smallest string after every name under ``folder`` (a common prefix: its last character bumped)."""
    return folder[:-1] + chr(ord(folder[-1]) + 1)


def entries(bucket: Any, prefix: str, delimiter: str | None, marker: str | None) -> Iterator[tuple[str, Any]]:
    """(name, current key) or (common prefix, None), in order, after ``marker``, under ``prefix``."""
    from moto.s3.models import FakeDeleteMarker

    names = _names(bucket)
    store = bucket.keys
    i = max(_after(names, marker, prefix, delimiter), bisect.bisect_left(names, prefix))
    while i < len(names):
        name = names[i]
        if not name.startswith(prefix):
            return
        cut = name.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            folder = name[: cut + len(delimiter)]  # type: ignore[arg-type]
            end = bisect.bisect_left(names, _past(folder), i)
            if any(not isinstance(store.get(n), FakeDeleteMarker) for n in names[i:end]):
                yield folder, None
            i = end
            continue
        key = store.get(name)
        if key is not None and not isinstance(key, FakeDeleteMarker):
            yield name, key
        i += 1


def _page(
    backend: Any, bucket: Any, prefix: str | None, delimiter: str | None, marker: str | None, max_keys: int | None, *, v2: bool
) -> tuple[list[tuple[str, Any]], bool, str | None]:
    """One page: its items, whether more follow, and where the next page starts (V2: an opaque token moto resolves;
    V1: the last name, S3's ``NextMarker``)."""
    from moto.utilities.utils import md5_hash

    if max_keys == 0:
        return [], False, None
    items: list[tuple[str, Any]] = []
    truncated = False
    for item in entries(bucket, prefix or "", delimiter or None, marker):
        if max_keys is not None and len(items) >= max_keys:
            truncated = True
            break
        items.append(item)
    if not truncated:
        return items, False, None
    last = items[-1][0]
    if not v2:
        return items, True, last
    token = md5_hash(last.encode("utf-8")).hexdigest()
    backend._pagination_tokens[token] = last
    return items, True, token


@patch(
    "s3",
    "ListObjects/ListObjectsV2 scan and sort the whole bucket on every request (0.24 s a page at 100,000 keys); "
    "S3 answers a page at the cost of the page",
)
def indexed_listing() -> None:
    from moto.s3.models import FakeTableStorageBucket, S3Backend
    from moto.s3.utils import _VersionedKeyStore

    if getattr(S3Backend.list_objects_v2, "_indexed", False):
        return

    def forget(method: str, adds: bool) -> None:
        original = getattr(_VersionedKeyStore, method)

        def changed(self: Any, key: Any, *args: Any, **kwargs: Any) -> Any:
            if not adds or not dict.__contains__(self, key):
                self.__dict__.pop(_INDEX, None)
            return original(self, key, *args, **kwargs)

        setattr(_VersionedKeyStore, method, changed)

    for method, adds in (("__setitem__", True), ("setlist", True), ("pop", False), ("__delitem__", False)):
        forget(method, adds)
    original_clear = _VersionedKeyStore.clear

    def clear(self: Any) -> None:
        self.__dict__.pop(_INDEX, None)
        original_clear(self)

    _VersionedKeyStore.clear = clear  # type: ignore[method-assign]

    def listable(bucket: Any) -> None:
        from moto.s3.exceptions import MethodNotAllowed

        if isinstance(bucket, FakeTableStorageBucket):
            raise MethodNotAllowed()

    def list_objects(self: Any, bucket: Any, prefix: Any, delimiter: Any, marker: Any, max_keys: Any) -> Any:
        listable(bucket)
        start = (self._pagination_tokens.get(marker) or marker) if marker else None
        items, truncated, token = _page(self, bucket, prefix, delimiter, start, max_keys, v2=False)
        return [k for _n, k in items if k is not None], [n for n, k in items if k is None], truncated, token

    def list_objects_v2(
        self: Any, bucket: Any, prefix: Any, delimiter: Any, continuation_token: Any, start_after: Any, max_keys: Any
    ) -> Any:
        listable(bucket)
        start = self._pagination_tokens.get(continuation_token) if continuation_token else start_after
        items, truncated, token = _page(self, bucket, prefix, delimiter, start, max_keys, v2=True)
        return [k if k is not None else n for n, k in items], truncated, token

    list_objects_v2._indexed = True  # type: ignore[attr-defined]
    S3Backend.list_objects = list_objects  # type: ignore[method-assign]
    S3Backend.list_objects_v2 = list_objects_v2  # type: ignore[method-assign]
