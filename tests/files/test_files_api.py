"""Files through the JSON API: multipart upload, limits judged from the bytes, downloads only
for readers of the record, safe headers."""
from __future__ import annotations

import io
import json

from .conftest import HTML, PDF, PNG


def upload(client, headers, field, name, content, form="claim"):
    return client.post(f"/api/forms/{form}/files/{field}", headers=headers,
                       data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_uploaded_image_is_stored_by_hash_and_served_inline_to_readers(app, engine, token):
    c = app.test_client()
    r = upload(c, token("sara"), "photo", "receipt.png", PNG)
    assert r.status_code == 201, r.get_json()
    ref = r.get_json()["files"][0]
    assert ref["type"] == "image/png" and ref["size"] == len(PNG) and len(ref["sha256"]) == 64
    r = c.post("/api/forms/claim/records", headers=token("sara"),
               json={"data": {"subject": "Taxi", "photo": ref}})
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()["id"]
    assert r.get_json()["data"]["photo"]["sha256"] == ref["sha256"]
    got = c.get(f"/api/forms/claim/records/{rid}/files/{ref['sha256']}", headers=token("sara"))
    assert got.status_code == 200 and got.data == PNG
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"].startswith("inline")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    # the auditor may read every claim, so every file of it
    assert c.get(f"/api/forms/claim/records/{rid}/files/{ref['sha256']}", headers=token("audrey")).status_code == 200
    # tom may not read sara's claim: the file is as missing as the record
    assert c.get(f"/api/forms/claim/records/{rid}/files/{ref['sha256']}", headers=token("tom")).status_code == 404


def test_a_file_is_only_read_through_a_record_that_holds_it(app, engine, token):
    c = app.test_client()
    ref = upload(c, token("sara"), "photo", "a.png", PNG).get_json()["files"][0]
    other = upload(c, token("sara"), "notes", "n.pdf", PDF).get_json()["files"][0]
    rid = c.post("/api/forms/claim/records", headers=token("sara"),
                 json={"data": {"subject": "One", "photo": ref}}).get_json()["id"]
    # a hash uploaded but held by no record the reader can see: 404, even for the uploader
    assert c.get(f"/api/forms/claim/records/{rid}/files/{other['sha256']}", headers=token("sara")).status_code == 404
    assert c.get(f"/api/forms/claim/records/{rid}/files/../../etc", headers=token("sara")).status_code == 404


def test_content_type_is_sniffed_never_taken_from_the_name(app, token):
    c = app.test_client()
    r = upload(c, token("sara"), "photo", "holiday.png", HTML)  # html dressed as png
    assert r.status_code == 422
    assert "photo" in r.get_json()["error"]["fields"]
    r = upload(c, token("sara"), "receipts", "scan.jpg", PDF)  # a pdf named .jpg: accepted as a pdf
    assert r.status_code == 201 and r.get_json()["files"][0]["type"] == "application/pdf"


def test_size_limit_from_the_definition(app, token):
    c = app.test_client()
    big = PNG + b"\x00" * (200 * 1024)
    r = upload(c, token("sara"), "photo", "big.png", big)
    assert r.status_code == 422
    assert "larger than 200 KB" in r.get_json()["error"]["fields"]["photo"]


def test_forged_reference_is_refused_and_forged_type_replaced(app, engine, token):
    c = app.test_client()
    fake = {"name": "x.png", "sha256": "0" * 64, "size": 1, "type": "image/png"}
    r = c.post("/api/forms/claim/records", headers=token("sara"), json={"data": {"subject": "X", "photo": fake}})
    assert r.status_code == 422 and "was not uploaded" in r.get_json()["error"]["fields"]["photo"]
    # bytes uploaded as a plain file, then claimed to be an image for the image-only field
    ref = upload(c, token("sara"), "notes", "page.html", HTML).get_json()["files"][0]
    assert ref["type"] == "text/html"
    forged = dict(ref, type="image/png")
    r = c.post("/api/forms/claim/records", headers=token("sara"), json={"data": {"subject": "X", "photo": forged}})
    assert r.status_code == 422 and "not an accepted kind of file" in r.get_json()["error"]["fields"]["photo"]


def test_non_images_download_as_attachments_even_html(app, token):
    c = app.test_client()
    ref = upload(c, token("sara"), "notes", "page.html", HTML).get_json()["files"][0]
    rid = c.post("/api/forms/claim/records", headers=token("sara"),
                 json={"data": {"subject": "H", "notes": ref}}).get_json()["id"]
    got = c.get(f"/api/forms/claim/records/{rid}/files/{ref['sha256']}", headers=token("sara"))
    assert got.status_code == 200
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["Content-Type"].startswith("text/plain")
    assert "sandbox" in got.headers["Content-Security-Policy"]


def test_multiple_files_in_one_field_by_multipart_record_create(app, engine, token):
    c = app.test_client()
    r = c.post("/api/forms/claim/records", headers=token("sara"), content_type="multipart/form-data",
               data={"payload": json.dumps({"data": {"subject": "Trip"}}),
                     "receipts": [(io.BytesIO(PNG), "r1.png"), (io.BytesIO(PDF), "r2.pdf")]})
    assert r.status_code == 201, r.get_json()
    receipts = r.get_json()["data"]["receipts"]
    assert [x["name"] for x in receipts] == ["r1.png", "r2.pdf"]
    assert [x["type"] for x in receipts] == ["image/png", "application/pdf"]
    rid, version = r.get_json()["id"], r.get_json()["version"]
    got = c.get(f"/api/forms/claim/records/{rid}/files/{receipts[1]['sha256']}", headers=token("sara"))
    assert got.data == PDF and got.headers["Content-Disposition"].startswith("attachment")
    # keep the first, drop the second, by PATCH
    r = c.patch(f"/api/forms/claim/records/{rid}", headers=token("sara"),
                json={"version": version, "data": {"receipts": receipts[:1]}})
    assert r.status_code == 200 and [x["name"] for x in r.get_json()["data"]["receipts"]] == ["r1.png"]


def test_a_file_in_a_line_item(app, engine, token):
    c = app.test_client()
    ref = upload(c, token("sara"), "lines.scan", "scan.pdf", PDF).get_json()["files"][0]
    r = c.post("/api/forms/claim/records", headers=token("sara"),
               json={"data": {"subject": "L", "lines": [{"what": "hotel", "scan": ref}]}})
    assert r.status_code == 201, r.get_json()
    rid = r.get_json()["id"]
    assert c.get(f"/api/forms/claim/records/{rid}/files/{ref['sha256']}", headers=token("audrey")).data == PDF
    bad = upload(c, token("sara"), "lines.scan", "x.png", PNG)
    assert bad.status_code == 422


def test_a_field_that_is_not_a_file_takes_no_upload(app, token):
    c = app.test_client()
    assert upload(c, token("sara"), "subject", "a.png", PNG).status_code == 404
    assert upload(c, token("audrey"), "photo", "a.png", PNG).status_code == 201  # a reader of the form


def test_openapi_names_an_upload_per_file_field_and_the_download(app):
    doc = app.test_client().get("/api/openapi.json").get_json()
    paths = [p for p in doc["paths"] if "/files" in p]
    assert sorted(paths) == ["/api/forms/claim/files/lines.scan", "/api/forms/claim/files/notes",
                             "/api/forms/claim/files/photo", "/api/forms/claim/files/receipts",
                             "/api/forms/claim/records/{id}/files/{sha256}"]
    upload_op = doc["paths"]["/api/forms/claim/files/photo"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert {"201", "403", "404", "422"} <= set(upload_op["responses"])


def test_file_endpoints_never_answer_500_to_generated_requests(engine, users, token):
    from tests.api.test_schemathesis import fuzz_served

    engine.create(users["sara"], "claim", {"subject": "Taxi"})
    fuzzed = fuzz_served(engine, token("sara"), path_regex=r"/files")
    assert len(fuzzed) == 5, fuzzed
