/* Loom form helpers: line-item rows, live totals for simple computes, visible_if for simple
   comparisons, row defaults copied from a picked link. The server recomputes and validates
   everything on save; this only keeps the page honest while typing. No inline script (CSP). */
(function () {
  "use strict";

  function num(text) {
    if (text === null || text === undefined) return NaN;
    var s = String(text).trim().replace(/,/g, "").replace(/%$/, "");
    return s === "" ? NaN : Number(s);
  }

  function cellValue(row, name) {
    var el = row.querySelector('[data-name="' + name + '"]');
    if (!el) return NaN;
    return num(el.tagName === "OUTPUT" ? el.textContent : el.value);
  }

  function fmt(value) {
    return isNaN(value) ? "" : value.toFixed(2);
  }

  function recompute(form) {
    form.querySelectorAll("fieldset[data-table]").forEach(function (fs) {
      fs.querySelectorAll("tbody tr.line").forEach(function (row) {
        row.querySelectorAll("[data-compute-mul]").forEach(function (out) {
          var parts = out.getAttribute("data-compute-mul").split(" ");
          var a = cellValue(row, parts[0]), b = cellValue(row, parts[1]);
          out.textContent = (isNaN(a) || isNaN(b)) ? "" : fmt(a * b);
        });
      });
    });
    form.querySelectorAll("[data-compute-sum]").forEach(function (out) {
      var spec = out.getAttribute("data-compute-sum").split("."), total = 0;
      var fs = form.querySelector('fieldset[data-table="' + spec[0] + '"]');
      if (!fs) return;
      fs.querySelectorAll("tbody tr.line").forEach(function (row) {
        var v = cellValue(row, spec[1]);
        if (!isNaN(v)) total += v;
      });
      out.textContent = fmt(total);
    });
    form.querySelectorAll("[data-show-field]").forEach(function (wrap) {
      var src = form.querySelector('[data-name="' + wrap.getAttribute("data-show-field") + '"]');
      if (!src || src.closest("tr")) return;
      var raw = src.type === "checkbox" ? (src.checked ? "true" : "false") : src.value;
      var want = wrap.getAttribute("data-show-value"), op = wrap.getAttribute("data-show-op");
      var a = num(raw), b = num(want), numeric = !isNaN(b);
      if (numeric && isNaN(a)) a = 0;
      var x = numeric ? a : raw, y = numeric ? b : want, show;
      switch (op) {
        case ">": show = x > y; break; case "<": show = x < y; break;
        case ">=": show = x >= y; break; case "<=": show = x <= y; break;
        case "==": show = x == y; break; default: show = x != y;
      }
      wrap.hidden = !show;
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
})();
