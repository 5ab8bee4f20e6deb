"""The synthetic bucket of :mod:`harness.files_scale` served over HTTP as S3's ``ListObjects`` (v1) and
``ListObjectsV2``, each request answered after a fixed latency: the listing model `make bench-files` measures
``files verify`` and ``rclone check`` on, side by side, where moto's own cost per key would measure moto.

The model: every request waits ``latency`` seconds, then costs what rendering its page costs (a few milliseconds
for 1,000 keys); requests are served concurrently (a thread per connection). What it leaves out: S3's per-key
transfer time, throttling (5,500 GET per second per prefix), variance and tail latency, TLS, request signing (not
checked), and every operation but listing (a ``HEAD`` or ``GET`` of an object is answered 404). Keys, sizes (0),
ETags (the MD5 of nothing) and ``LastModified`` are :mod:`harness.files_scale`'s.
"""

from __future__ import annotations

import bisect
import contextlib
import http.server
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from xml.sax.saxutils import escape

from harness.files_scale import ETAG, LAST_MODIFIED, PAGE, SyntheticListing

BUCKET = "synthetic"
_MODIFIED = LAST_MODIFIED.strftime("%Y-%m-%dT%H:%M:%S.000Z")
_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def list_response(listing: SyntheticListing, query: dict[str, str]) -> bytes:
    """The XML body S3 answers a ``ListObjects`` (``list-type=2``: V2) request with ``query`` over ``listing``."""
    v2 = query.get("list-type") == "2"
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    max_keys = min(int(query.get("max-keys", PAGE)), PAGE)
    after = (query.get("continuation-token") or query.get("start-after", "")) if v2 else query.get("marker", "")
    encode = query.get("encoding-type") == "url"
    names, are_prefixes = listing.listing(prefix, delimiter)
    start = bisect.bisect_right(names, after) if after else 0
    page: Sequence[str] = names[start : start + max_keys]
    truncated = start + len(page) < len(names)

    def text(value: str) -> str:
        return escape(urllib.parse.quote(value, safe="/") if encode else value)

    head = [f"<Name>{BUCKET}</Name><Prefix>{text(prefix)}</Prefix><MaxKeys>{max_keys}</MaxKeys>"]
    if delimiter:
        head.append(f"<Delimiter>{text(delimiter)}</Delimiter>")
    if encode:
        head.append("<EncodingType>url</EncodingType>")
    head.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    if v2:
        head.append(f"<KeyCount>{len(page)}</KeyCount>")
        if query.get("continuation-token"):
            head.append(f"<ContinuationToken>{escape(query['continuation-token'])}</ContinuationToken>")
        if truncated:
            head.append(f"<NextContinuationToken>{escape(page[-1])}</NextContinuationToken>")
    else:
        head.append(f"<Marker>{text(after)}</Marker>")
        if truncated:
            head.append(f"<NextMarker>{text(page[-1])}</NextMarker>")
    if are_prefixes:
        body = "".join(f"<CommonPrefixes><Prefix>{text(p)}</Prefix></CommonPrefixes>" for p in page)
    else:
        etag = escape(ETAG, {'"': "&quot;"})
        body = "".join(
            f"<Contents><Key>{text(k)}</Key><LastModified>{_MODIFIED}</LastModified><ETag>{etag}</ETag>"
            "<Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>"
            for k in page
        )
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{_NS}">{"".join(head)}{body}</ListBucketResult>'
    return xml.encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's connection pool is reused, as against S3
    server: ListingServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"", content_type: str = "application/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        time.sleep(self.server.latency)
        self.server.count()
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        path = url.path.strip("/")
        if path != BUCKET:
            self._answer(404, b"<Error><Code>NoSuchKey</Code><Message>only listing is served</Message></Error>")
        elif self.command == "HEAD":
            self._answer(200)
        elif "location" in query:
            self._answer(200, f'<LocationConstraint xmlns="{_NS}"></LocationConstraint>'.encode())
        else:
            self._answer(200, list_response(self.server.listing, query))

    do_GET = do_HEAD = _route


class ListingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listing: SyntheticListing, latency: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.listing, self.latency, self.requests = listing, latency, 0
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self.requests += 1


@contextlib.contextmanager
def serving(files: int, latency: float) -> Iterator[ListingServer]:
    """A server listing ``files`` synthetic objects in bucket :data:`BUCKET` at ``http://127.0.0.1:<port>``
    (``server.server_port``), each request answered after ``latency`` seconds; ``server.requests`` counts them."""
    server = ListingServer(SyntheticListing(files), latency)
    thread = threading.Thread(target=server.serve_forever, name="s3-listing", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
