"""File contents by content hash, behind one small interface: put, get, delete, exists.

Records hold only a reference (`{name, size, sha256, type}`); the bytes live
here, addressed by their SHA-256, so the same file uploaded twice is stored
once and a reference can never point at changed bytes. Two backends:

- `FolderBlobs` (the default): a folder, by default beside the SQLite
  database (`loom.db` → `loom.db.blobs/`), files named `ab/cd/<sha256>`;
  written to a temporary name and renamed, so a reader never sees half a file.
- `S3Blobs`: an S3-compatible bucket (AWS, MinIO, Ceph) for several hosts;
  needs the optional `boto3` (`pip install loom[s3]`).

`sniff` names a content type from the first bytes (magic numbers): the
extension and the client's Content-Type are never trusted.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from typing import Iterator, Protocol

from ..errors import LoomError

_SHA = re.compile(r"^[0-9a-f]{64}$")


class BlobMissing(LoomError):
    status = 404
    code = "not_found"


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def get(self, sha256: str) -> bytes: ...
    def delete(self, sha256: str) -> None: ...
    def exists(self, sha256: str) -> bool: ...
    def hashes(self) -> Iterator[str]: ...


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def valid_hash(sha256: str) -> bool:
    return isinstance(sha256, str) and bool(_SHA.match(sha256))


class FolderBlobs:
    """Blobs as files in a local folder (or one shared over NFS by several hosts)."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def _path(self, sha256: str) -> str:
        if not valid_hash(sha256):
            raise BlobMissing("no such file")
        return os.path.join(self.root, sha256[:2], sha256[2:4], sha256)

    def put(self, data: bytes) -> str:
        sha = digest(data)
        path = self._path(sha)
        if os.path.exists(path):
            return sha
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return sha

    def get(self, sha256: str) -> bytes:
        try:
            with open(self._path(sha256), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise BlobMissing("no such file") from None

    def delete(self, sha256: str) -> None:
        try:
            os.unlink(self._path(sha256))
        except FileNotFoundError:
            pass

    def exists(self, sha256: str) -> bool:
        return valid_hash(sha256) and os.path.exists(self._path(sha256))

    def hashes(self) -> Iterator[str]:
        if not os.path.isdir(self.root):
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if valid_hash(name):
                    yield name


class S3Blobs:
    """Blobs as objects `<prefix><sha256>` in an S3-compatible bucket.

    `client` is a boto3 S3 client (made from the URL and the usual AWS_*
    environment when not given), so any S3-compatible endpoint works."""

    def __init__(self, bucket: str, prefix: str = "", client=None, endpoint_url: str | None = None):
        if client is None:
            import boto3  # optional dependency: only S3 users install it

            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def _key(self, sha256: str) -> str:
        if not valid_hash(sha256):
            raise BlobMissing("no such file")
        return self.prefix + sha256

    def put(self, data: bytes) -> str:
        sha = digest(data)
        if not self.exists(sha):
            self.client.put_object(Bucket=self.bucket, Key=self._key(sha), Body=data)
        return sha

    def get(self, sha256: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"].read()
        except Exception as exc:  # botocore's NoSuchKey is generated per client
            if _missing(exc):
                raise BlobMissing("no such file") from None
            raise

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def exists(self, sha256: str) -> bool:
        if not valid_hash(sha256):
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
            return True
        except Exception as exc:
            if _missing(exc):
                return False
            raise

    def hashes(self) -> Iterator[str]:
        token = None
        while True:
            kw = {"Bucket": self.bucket, "Prefix": self.prefix}
            if token:
                kw["ContinuationToken"] = token
            page = self.client.list_objects_v2(**kw)
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix):]
                if valid_hash(name):
                    yield name
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")


def _missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def open_blobs(where: str | None, database_url: str) -> BlobStore:
    """The blob store `where` names (a folder, or `s3://bucket/prefix`), else a folder beside
    the SQLite database (`<db file>.blobs`), else `./loom-blobs`."""
    if where:
        if where.startswith("s3://"):
            bucket, _, prefix = where[5:].partition("/")
            return S3Blobs(bucket, prefix, endpoint_url=os.environ.get("LOOM_S3_ENDPOINT") or None)
        return FolderBlobs(where)
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1] if "///" in database_url else ""
        path = path.split("?", 1)[0]
        if path and path != ":memory:":
            return FolderBlobs(path + ".blobs")
        return FolderBlobs(tempfile.mkdtemp(prefix="loom-blobs-"))
    return FolderBlobs(os.path.abspath("loom-blobs"))


# --- content types from magic bytes ------------------------------------------------

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BM", "image/bmp"),
)


def sniff(head: bytes) -> str:
    """The content type the bytes themselves show; text when they decode as UTF-8 text,
    else `application/octet-stream`. SVG is reported as XML text, never as an image:
    it can carry script."""
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    sample = head[:4096]
    if b"\x00" in sample:
        return "application/octet-stream"
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        try:  # a multi-byte character cut at the sample's end
            text = sample[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    low = text.lstrip().lower()
    if low.startswith("<?xml") or low.startswith("<svg") or low.startswith("<!doctype") or low.startswith("<html"):
        return "text/xml" if not low.startswith(("<!doctype", "<html")) else "text/html"
    return "text/plain"


INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
