"""A person attaches files on the form page: a photo shown as a thumbnail, several receipts,
a refused file that keeps what was typed."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.files.conftest import PDF, PNG, engine, users  # noqa: F401  (the files app's fixtures)

from .conftest import serving


def login(page, base, name):
    page.goto(base + "/login")
    page.fill("#username", name)
    page.fill("#password", f"{name}-pass-123")
    page.click("button[type=submit]")
    expect(page.locator("a.me")).to_have_text(name)


def test_upload_on_the_form_page_shows_a_thumbnail_and_downloads(engine, users, browser, shot, tmp_path):
    (tmp_path / "photo.png").write_bytes(PNG)
    (tmp_path / "r1.pdf").write_bytes(PDF)
    (tmp_path / "r2.png").write_bytes(PNG)
    (tmp_path / "fake.png").write_bytes(b"<html><script>alert(1)</script></html>")
    with serving(engine, "files-browser") as base:
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
        page = ctx.new_page()
        login(page, base, "sara")
        page.goto(base + "/f/claim/new")
        page.fill("#f-subject", "Conference")
        # an HTML page named .png is refused; the subject typed stays
        page.set_input_files("#f-photo-upload", str(tmp_path / "fake.png"))
        page.click("#save")
        expect(page.locator("#err-f-photo")).to_contain_text("not an accepted kind of file")
        expect(page.locator("#f-subject")).to_have_value("Conference")
        shot(page, "refused")
        page.set_input_files("#f-photo-upload", str(tmp_path / "photo.png"))
        page.set_input_files("#f-receipts-upload", [str(tmp_path / "r1.pdf"), str(tmp_path / "r2.png")])
        page.click("#save")
        expect(page.locator("#record-title")).to_have_text("Conference")
        thumb = page.locator("#value-photo img.thumb")
        expect(thumb).to_be_visible()
        # the image itself, served inline (visible is not loaded: wait for the bytes to arrive)
        page.wait_for_function("() => document.querySelector('#value-photo img.thumb').complete")
        assert thumb.evaluate("img => img.naturalWidth") == 1
        expect(page.locator("#value-receipts a.file-link")).to_have_count(2)
        shot(page, "record")
        with page.expect_download() as dl:
            page.click("#value-receipts a.file-link:has-text('r1.pdf')")
        assert dl.value.suggested_filename == "r1.pdf"
        assert open(dl.value.path(), "rb").read() == PDF
        # edit: untick one receipt; the others stay
        page.click("#edit")
        page.locator("#f-receipts .file-kept input[type=checkbox]").first.uncheck()
        page.click("#save")
        expect(page.locator("#value-receipts a.file-link")).to_have_count(1)
        expect(page.locator("#value-photo img.thumb")).to_be_visible()
        ctx.close()
