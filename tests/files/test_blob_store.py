"""The blob store behind file fields: folder and S3-compatible backends, and backups that
carry the files."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile

import pytest

from engine.engine import Engine
from engine.store.blobs import BlobMissing, FolderBlobs, S3Blobs, digest, open_blobs, sniff

from .conftest import PDF, PNG

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_folder_store_puts_by_content_hash_once(tmp_path):
    store = FolderBlobs(str(tmp_path / "b"))
    sha = store.put(PNG)
    assert sha == digest(PNG) and store.put(PNG) == sha
    assert store.exists(sha) and store.get(sha) == PNG
    assert list(store.hashes()) == [sha]
    store.delete(sha)
    assert not store.exists(sha)
    with pytest.raises(BlobMissing):
        store.get(sha)
    with pytest.raises(BlobMissing):
        store.get("../../etc/passwd")


def test_default_store_sits_beside_the_sqlite_database(tmp_path):
    store = open_blobs(None, f"sqlite:///{tmp_path / 'app.db'}")
    assert store.root == str(tmp_path / "app.db.blobs")
    assert open_blobs(str(tmp_path / "x"), "postgresql://h/db").root == str(tmp_path / "x")


class FakeS3:
    """The five calls S3Blobs makes, over a dict, answering as botocore does for a missing key."""

    class Missing(Exception):
        def __init__(self):
            self.response = {"Error": {"Code": "404"}}

    def __init__(self):
        self.objects = {}

    def put_object(self, Bucket, Key, Body):
        self.objects[(Bucket, Key)] = bytes(Body)

    def get_object(self, Bucket, Key):
        if (Bucket, Key) not in self.objects:
            raise self.Missing()
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def head_object(self, Bucket, Key):
        if (Bucket, Key) not in self.objects:
            raise self.Missing()
        return {}

    def delete_object(self, Bucket, Key):
        self.objects.pop((Bucket, Key), None)

    def list_objects_v2(self, Bucket, Prefix, ContinuationToken=None):
        keys = sorted(k for b, k in self.objects if b == Bucket and k.startswith(Prefix))
        start = int(ContinuationToken or 0)
        page = keys[start:start + 1]  # one per page: the paging is exercised
        more = start + 1 < len(keys)
        return {"Contents": [{"Key": k} for k in page], "IsTruncated": more,
                "NextContinuationToken": str(start + 1) if more else None}


def test_s3_store_keeps_objects_under_its_prefix():
    client = FakeS3()
    store = S3Blobs("bucket", "loom/", client=client)
    a, b = store.put(PNG), store.put(PDF)
    assert ("bucket", "loom/" + a) in client.objects
    assert store.get(b) == PDF and store.exists(a)
    assert sorted(store.hashes()) == sorted([a, b])
    store.delete(a)
    assert not store.exists(a)
    with pytest.raises(BlobMissing):
        store.get(a)


def test_sniffing_reads_the_bytes():
    assert sniff(PNG) == "image/png" and sniff(PDF) == "application/pdf"
    assert sniff(b"\xff\xd8\xff\xe0JFIF") == "image/jpeg"
    assert sniff(b"<svg onload='x'/>") == "text/xml"  # never an image: SVG can carry script
    assert sniff("名字,数量\n".encode()) == "text/plain"
    assert sniff(b"\x00\x01\x02") == "application/octet-stream"


def test_backup_and_restore_carry_the_files(engine, users, fresh_url, tmp_path):
    ref = engine.upload(users["sara"], "claim", "photo", "p.png", PNG)
    engine.create(users["sara"], "claim", {"subject": "Taxi", "photo": ref})
    path = str(tmp_path / "one.backup")
    engine.backup(path)
    assert os.path.isfile(path + ".blobs.tar")
    target = tmp_path / "restored-blobs"
    Engine.restore(path, fresh_url, blobs=str(target))
    again = Engine(str(ROOT + "/tests/fixtures/files"), fresh_url, clock=engine.clock, blobs=str(target))
    try:
        rec = again.list(again.user("sara"), "claim").items[0]
        got_ref, data = again.file(again.user("sara"), "claim", rec.id, ref["sha256"])
        assert data == PNG and got_ref["name"] == "p.png"
    finally:
        again.close()


def test_restore_refuses_a_damaged_file(engine, users, fresh_url, tmp_path):
    ref = engine.upload(users["sara"], "claim", "photo", "p.png", PNG)
    engine.create(users["sara"], "claim", {"subject": "Taxi", "photo": ref})
    path = str(tmp_path / "two.backup")
    engine.backup(path)
    with tarfile.open(path + ".blobs.tar", "w") as tar:  # same name, other bytes
        member = tarfile.TarInfo(ref["sha256"])
        member.size = 3
        tar.addfile(member, io.BytesIO(b"bad"))
    with pytest.raises(Exception, match="damaged"):
        Engine.restore(path, fresh_url, blobs=str(tmp_path / "r"))


def test_cli_backup_says_how_many_files(engine, users, tmp_path):
    ref = engine.upload(users["sara"], "claim", "photo", "p.png", PNG)
    engine.create(users["sara"], "claim", {"subject": "Taxi", "photo": ref})
    url = engine.db.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": ROOT, "LOOM_BLOBS": engine.blobs.root}
    path = str(tmp_path / "cli.backup")
    out = subprocess.run([sys.executable, "-m", "engine.cli", "db", "backup", path, "--database", url],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "and 1 file(s) to " in out.stdout
