/* Loom form helpers: line-item rows, the live preview, htmx niceties (422 swaps, upload
   progress). The live preview evaluates nothing here: the form is posted (as a save posts it)
   to the form's preview URL (web/views/preview.py → Engine.preview, the server's own
   expressions) and the answer fills computed fields, defaults, visibility and required
   markers, per line of tables too. A failed preview changes nothing; the server recomputes
   and validates everything on save. No inline script (CSP), no eval. */
(function () {
  "use strict";

  var DELAY = 250; // ms after the last keystroke

  function each(obj, fn) {
    Object.keys(obj || {}).forEach(function (k) { fn(k, obj[k]); });
  }

  // The element whose visibility a field's flag drives: a line's cell, a table's fieldset,
  // or a field's wrapper.
  function holder(el) {
    return el.closest("td") || (el.tagName === "FIELDSET" ? el : el.closest(".field")) || el;
  }

  function apply(form, answer) {
    each(answer.texts, function (id, text) {
      var el = document.getElementById(id);
      if (el && form.contains(el) && el.textContent !== text) el.textContent = text;
    });
    // Defaults a save would fill (`rate: "item.rate"`) go into empty inputs and stay the
    // server's until the user edits them: picking another item then brings its rate.
    form.querySelectorAll("[data-filled]").forEach(function (el) {
      if (el.value !== el.getAttribute("data-filled")) { el.removeAttribute("data-filled"); return; }
      if (el !== document.activeElement && !(answer.fill && el.id in answer.fill)) {
        el.value = "";
        el.removeAttribute("data-filled");
      }
    });
    each(answer.fill, function (id, text) {
      var el = document.getElementById(id);
      if (!el || !form.contains(el) || el === document.activeElement) return;
      if (el.type === "checkbox" || el.multiple) return;
      if (el.value !== "" && !el.hasAttribute("data-filled")) return; // typed by the user: theirs
      el.value = text;
      el.setAttribute("data-filled", text);
    });
    each(answer.visible, function (id, shown) {
      var el = document.getElementById(id);
      if (!el || !form.contains(el)) return;
      var box = holder(el);
      if (box.tagName === "TD") {
        box.classList.toggle("cell-hidden", !shown);
        box.setAttribute("aria-hidden", shown ? "false" : "true");
      } else {
        box.hidden = !shown;
      }
    });
    // a line-item column no line shows (details only some lines need) is folded away
    form.querySelectorAll("fieldset.table-field table.lines").forEach(function (table) {
      var rows = table.querySelectorAll("tbody tr.line");
      var heads = table.querySelectorAll("thead th");
      heads.forEach(function (th, i) {
        if (i === heads.length - 1) return; // the remove-row column
        var cells = [];
        rows.forEach(function (tr) { if (tr.children[i]) cells.push(tr.children[i]); });
        var unused = cells.length > 0 && cells.every(function (td) { return td.classList.contains("cell-hidden"); });
        th.classList.toggle("col-unused", unused);
        cells.forEach(function (td) { td.classList.toggle("col-unused", unused); });
      });
    });
    each(answer.required, function (id, needed) {
      var el = document.getElementById(id);
      if (!el || !form.contains(el)) return;
      var box = holder(el);
      var mark = box.querySelector(".req");
      if (mark && mark.closest("fieldset, .field, td") === box) mark.hidden = !needed;
      if (box.tagName === "TD") box.classList.toggle("is-required", needed);
      if (el.tagName !== "OUTPUT" && el.tagName !== "FIELDSET") el.setAttribute("aria-required", needed ? "true" : "false");
    });
  }

  function previewer(form) {
    var url = form.getAttribute("data-preview");
    var timer = null, sent = 0;
    function run() {
      timer = null;
      var mine = ++sent;
      var body = new FormData(form);
      // files are uploaded on save only, never with every keystroke's preview
      form.querySelectorAll("input[type=file]").forEach(function (el) { body.delete(el.name); });
      // a value the server filled in is not the user's: ask again as if it were still empty
      form.querySelectorAll("[data-filled]").forEach(function (el) {
        if (el.name && el.value === el.getAttribute("data-filled")) body.set(el.name, "");
      });
      fetch(url, { method: "POST", body: body, credentials: "same-origin",
                   headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) {
          // an older answer arriving late must not undo a newer one
          if (answer && mine === sent) apply(form, answer);
        })
        .catch(function () { /* offline or refused: the form still saves without preview */ });
    }
    return function (now) {
      if (!url || !window.fetch) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, now ? 0 : DELAY);
    };
  }

  function nextIndex(fs) {
    var max = -1;
    fs.querySelectorAll("tbody [name]").forEach(function (el) {
      var m = /^f\.\w+\.(\d+)\./.exec(el.name);
      if (m) max = Math.max(max, Number(m[1]));
    });
    return max + 1;
  }

  function addRow(fs) {
    var tpl = fs.querySelector("template.row-template");
    var i = String(nextIndex(fs));
    var html = tpl.innerHTML.replace(/__i__/g, i);
    var body = fs.querySelector("tbody");
    body.insertAdjacentHTML("beforeend", html);
    var row = body.lastElementChild;
    if (window.htmx) window.htmx.process(row);
    return row;
  }

  function init(form) {
    var preview = previewer(form);
    form.loomPreview = preview;
    form.addEventListener("input", function (e) {
      if (!e.target.classList.contains("picker-q")) preview(false); // a picker's search box is not data
    });
    form.addEventListener("change", function (e) {
      if (!e.target.classList.contains("picker-q")) preview(false);
    });
    form.addEventListener("click", function (e) {
      var t = e.target;
      if (t.classList.contains("add-row")) { e.preventDefault(); addRow(t.closest("fieldset")); preview(true); }
      if (t.classList.contains("remove-row")) { e.preventDefault(); t.closest("tr").remove(); preview(true); }
    });
    preview(true);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.record-form").forEach(init);
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  });
  // A link picker's options arrive from htmx: keep the selection change flowing.
  document.addEventListener("htmx:afterSwap", function (e) {
    var form = e.target.closest && e.target.closest("form.record-form");
    if (form && form.loomPreview) form.loomPreview(false);
  });
  // A picker's search keeps what is chosen: the options it brings back mark it selected.
  document.addEventListener("htmx:configRequest", function (e) {
    var q = e.detail.elt;
    if (!q.classList || !q.classList.contains("picker-q")) return;
    var sel = q.parentElement && q.parentElement.querySelector("select");
    if (sel && sel.value) e.detail.parameters.selected = sel.value;
  });
  // Validation answers (400/409/422) carry a page fragment with the reasons: show it.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var s = e.detail.xhr.status;
    if (s === 400 || s === 409 || s === 413 || s === 422) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
  // An action whose definition says `confirm:` asks first (the server does not ask twice).
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-confirm]");
    if (b && !window.confirm(b.getAttribute("data-confirm"))) e.preventDefault();
  });
  // The inbox's "select all" box ticks every task on the page.
  document.addEventListener("change", function (e) {
    if (e.target.id !== "select-all") return;
    document.querySelectorAll("input[name=task]").forEach(function (c) { c.checked = e.target.checked; });
  });
  // Upload progress for imports (the indicator shows while the request runs).
  document.addEventListener("htmx:xhr:progress", function (e) {
    var ind = document.getElementById("import-progress");
    if (!ind || !e.detail.lengthComputable) return;
    var pct = Math.round(100 * e.detail.loaded / e.detail.total);
    ind.querySelector("progress").value = pct;
    ind.querySelector(".pct").textContent = pct < 100 ? pct + "%" : "…";
  });
})();
