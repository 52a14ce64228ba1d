/* Loom form helpers: line-item rows, live computed fields, visible_if (top level and inside
   line-item rows), row defaults copied from a picked link, htmx niceties (422 swaps, upload
   progress). The server sends simple expressions as small JSON trees (web/formdata.py
   `client_expr`); anything beyond them is left to the server, which recomputes and validates
   everything on save: this only keeps the page honest while typing. No inline script (CSP),
   no eval: the trees are interpreted here. */
(function () {
  "use strict";

  var NUMERIC = { integer: 1, decimal: 1, money: 1, percent: 1 };

  function num(text) {
    if (text === null || text === undefined) return NaN;
    var s = String(text).trim().replace(/,/g, "").replace(/%$/, "");
    return s === "" ? NaN : Number(s);
  }

  function fieldValue(el) {
    if (!el) return null;
    var type = el.getAttribute("data-type");
    if (el.type === "checkbox") return el.checked;
    var raw = el.tagName === "OUTPUT" ? el.textContent : el.value;
    if (NUMERIC[type]) { var n = num(raw); return isNaN(n) ? null : n; }
    if (type === "boolean") return raw === "true";
    return raw === "" ? null : raw;
  }

  function topLevel(form, name) {
    var found = null;
    form.querySelectorAll('[data-name="' + name + '"]').forEach(function (el) {
      if (!found && !el.closest("tr.line") && !el.closest("template")) found = el;
    });
    return found;
  }

  function rows(form, table) {
    var fs = form.querySelector('fieldset[data-table="' + table + '"]');
    return fs ? Array.prototype.slice.call(fs.querySelectorAll("tbody tr.line")) : [];
  }

  // Evaluate a tree in a scope: the row (when inside a line item), then the form.
  function ev(t, form, row) {
    switch (t[0]) {
      case "lit": return t[1];
      case "name": {
        var el = row ? row.querySelector('[data-name="' + t[1] + '"]') : null;
        return fieldValue(el || topLevel(form, t[1]));
      }
      case "bin": {
        var a = ev(t[2], form, row), b = ev(t[3], form, row);
        if (typeof a === "string" && typeof b === "string" && t[1] === "+") return a + b;
        if (a === null || b === null || typeof a !== "number" || typeof b !== "number") return null;
        switch (t[1]) {
          case "+": return a + b; case "-": return a - b; case "*": return a * b;
          default: return b === 0 ? null : a / b;
        }
      }
      case "cmp": {
        var x = ev(t[2], form, row), y = ev(t[3], form, row);
        if (t[1] === "==") return x === y;
        if (t[1] === "!=") return x !== y;
        if (x === null || y === null) return false;
        switch (t[1]) {
          case ">": return x > y; case "<": return x < y; case ">=": return x >= y; default: return x <= y;
        }
      }
      case "not": return !ev(t[1], form, row);
      case "and": for (var i = 1; i < t.length; i++) { if (!ev(t[i], form, row)) return false; } return true;
      case "or": for (var j = 1; j < t.length; j++) { if (ev(t[j], form, row)) return true; } return false;
      case "if": return ev(t[1], form, row) ? ev(t[2], form, row) : ev(t[3], form, row);
      case "sum": case "count": {
        var total = 0, n = 0;
        rows(form, t[1]).forEach(function (r) {
          var v = fieldValue(r.querySelector('[data-name="' + t[2] + '"]'));
          if (v !== null && v !== "") { n += 1; if (typeof v === "number") total += v; }
        });
        return t[0] === "sum" ? total : n;
      }
    }
    return null;
  }

  function tree(el, attr) {
    try { return JSON.parse(el.getAttribute(attr)); } catch (e) { return null; }
  }

  function show(value, type) {
    if (value === null || typeof value !== "number" || !isFinite(value)) return "";
    if (type === "integer") return String(Math.round(value));
    if (type === "money") return value.toFixed(2);
    return String(parseFloat(value.toFixed(6)));
  }

  function computeOne(out, form, row) {
    var t = tree(out, "data-compute");
    if (t) out.textContent = show(ev(t, form, row), out.getAttribute("data-type"));
  }

  function recompute(form) {
    // line items first (their amounts feed the totals), then the form's fields, twice so
    // a compute reading another compute (`total - paid_amount`) settles
    form.querySelectorAll("fieldset[data-table] tbody tr.line").forEach(function (row) {
      row.querySelectorAll("[data-compute]").forEach(function (out) { computeOne(out, form, row); });
    });
    for (var pass = 0; pass < 2; pass++) {
      form.querySelectorAll("[data-compute]").forEach(function (out) {
        if (!out.closest("tr.line") && !out.closest("template")) computeOne(out, form, null);
      });
    }
    form.querySelectorAll("[data-show]").forEach(function (wrap) {
      if (wrap.closest("template")) return;
      var t = tree(wrap, "data-show");
      if (!t) return;
      var visible = !!ev(t, form, wrap.closest("tr.line"));
      if (wrap.tagName === "TD") {
        wrap.classList.toggle("cell-hidden", !visible);
        wrap.setAttribute("aria-hidden", visible ? "false" : "true");
      } else {
        wrap.hidden = !visible;
      }
    });
  }

  function copyDefaults(select) {
    var row = select.closest("tr");
    var opt = select.options[select.selectedIndex];
    if (!row || !opt) return;
    row.querySelectorAll("[data-default-from]").forEach(function (input) {
      var parts = input.getAttribute("data-default-from").split(".");
      if (parts[0] !== select.getAttribute("data-name") || input.value !== "") return;
      var v = opt.getAttribute("data-v-" + parts[1]);
      if (v !== null) input.value = v;
    });
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
    form.addEventListener("input", function () { recompute(form); });
    form.addEventListener("change", function (e) {
      if (e.target.classList && e.target.classList.contains("link-select")) copyDefaults(e.target);
      recompute(form);
    });
    form.addEventListener("click", function (e) {
      var t = e.target;
      if (t.classList.contains("add-row")) { e.preventDefault(); addRow(t.closest("fieldset")); recompute(form); }
      if (t.classList.contains("remove-row")) { e.preventDefault(); t.closest("tr").remove(); recompute(form); }
    });
    recompute(form);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.record-form").forEach(init);
  });
  // A link picker's options arrive from htmx: keep the selection change flowing.
  document.addEventListener("htmx:afterSwap", function (e) {
    var form = e.target.closest && e.target.closest("form.record-form");
    if (form) recompute(form);
  });
  // Validation answers (400/409/422) carry a page fragment with the reasons: show it.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var s = e.detail.xhr.status;
    if (s === 400 || s === 409 || s === 413 || s === 422) { e.detail.shouldSwap = true; e.detail.isError = false; }
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
