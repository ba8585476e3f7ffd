// verify's index.html, inlined by report.py: sorting and filtering of the
// results table. The filters also come from the URL, as a query or a hash of
// key=value pairs (index.html?status=FAIL, index.html#dtype=float32&check=accuracy),
// and are written back to the hash, so a filtered view can be shared.
(function () {
  "use strict";
  var table = document.getElementById("results");
  var form = document.getElementById("filters");
  if (!table || !form) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var FIELDS = ["op", "dtype", "backend", "status", "check"];
  var sort = { key: "", dir: 1 };   // "" is the written order: failures first

  // The regex an op filter means; text that is no valid regex matches literally.
  function opPattern(text) {
    try { return new RegExp(text, "i"); }
    catch (e) { return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i"); }
  }

  // With a check chosen, the status filter applies to that check in the row.
  function keep(row, f, pattern) {
    var d = row.dataset;
    if (f.op && !pattern.test(d.op)) return false;
    if (f.dtype && d.dtype !== f.dtype) return false;
    if (f.backend && d.backend !== f.backend) return false;
    if (f.check) {
      var hit = d.checks.split(" ").filter(function (c) {
        return c.slice(0, c.lastIndexOf(":")) === f.check;
      });
      if (!hit.length) return false;
      if (f.status && !hit.some(function (c) { return c.slice(c.lastIndexOf(":") + 1) === f.status; }))
        return false;
    } else if (f.status && d.status !== f.status) return false;
    return true;
  }

  function filters() {
    var f = {};
    FIELDS.forEach(function (k) { f[k] = form.elements[k].value.trim(); });
    return f;
  }

  function applyFilters() {
    var f = filters(), pattern = opPattern(f.op), shown = 0;
    rows.forEach(function (row) {
      row.hidden = !keep(row, f, pattern);
      if (!row.hidden) shown++;
      // with a check chosen, the other checks' badges step back
      Array.prototype.forEach.call(row.cells[row.cells.length - 1].children, function (b) {
        b.classList.toggle("dim", !!f.check && b.textContent !== f.check);
      });
    });
    document.getElementById("shown").textContent = shown;
  }

  // A cell's sort value: a number for the numeric and status columns (a
  // missing number sorts last either way), else its text.
  function value(row, col, type) {
    var cell = row.cells[col];
    if (type === "text") return cell.textContent.toLowerCase();
    var v = cell.dataset.v;
    if (v === "") return null;
    return v === "inf" ? Infinity : parseFloat(v);
  }

  function applySort() {
    var col = -1, type = "";
    heads.forEach(function (th, i) {
      var on = th.dataset.key === sort.key;
      if (on) { col = i; type = th.dataset.type; }
      if (th.dataset.key) {
        if (on) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      }
    });
    var order = rows.slice();
    if (col >= 0) {
      order.sort(function (a, b) {
        var x = value(a, col, type), y = value(b, col, type);
        if (x === null || y === null) return (x === null) - (y === null) || a.dataset.i - b.dataset.i;
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || a.dataset.i - b.dataset.i;
      });
    }
    order.forEach(function (row) { body.appendChild(row); });
  }

  // The filters and sort to the hash (key=value pairs; a query the page
  // was opened with moves there), leaving an op's anchor (#op-exp) alone
  // while no filter is set.
  function writeURL() {
    var p = new URLSearchParams(), f = filters();
    FIELDS.forEach(function (k) { if (f[k]) p.set(k, f[k]); });
    if (sort.key) p.set("sort", (sort.dir < 0 ? "-" : "") + sort.key);
    var q = p.toString();
    var had = location.search.length > 1 || location.hash.indexOf("=") >= 0;
    if (!q && !had) return;
    try { history.replaceState(null, "", location.pathname + (q ? "#" + q : "")); }
    catch (e) { /* a browser that refuses it keeps the page's URL */ }
  }

  function readURL() {
    var p = new URLSearchParams(location.search.slice(1));
    var h = location.hash.slice(1);
    if (h.indexOf("=") >= 0) new URLSearchParams(h).forEach(function (v, k) { p.set(k, v); });
    FIELDS.forEach(function (k) {
      if (!p.has(k)) return;
      var el = form.elements[k], v = p.get(k);
      if (el.tagName === "SELECT" && !Array.prototype.some.call(el.options, function (o) {
        return o.value === v;
      })) {
        el.appendChild(new Option(v + " (none)", v));   // keep an unknown value visible: it hides all rows
      }
      el.value = v;
    });
    var s = p.get("sort") || "";
    sort = { key: s.replace(/^-/, ""), dir: s.charAt(0) === "-" ? -1 : 1 };
  }

  rows.forEach(function (row, i) { row.dataset.i = i; });
  heads.forEach(function (th) {
    if (!th.dataset.key) return;
    th.querySelector("button").addEventListener("click", function () {
      sort = th.dataset.key === sort.key ? { key: sort.key, dir: -sort.dir }
                                         : { key: th.dataset.key, dir: 1 };
      applySort(); writeURL();
    });
  });
  form.addEventListener("input", function () { applyFilters(); writeURL(); });
  form.addEventListener("change", function () { applyFilters(); writeURL(); });
  form.addEventListener("reset", function () {
    setTimeout(function () { applyFilters(); writeURL(); }, 0);   // after the fields clear
  });
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") >= 0) { readURL(); applyFilters(); applySort(); }
  });
  readURL();
  applyFilters();
  applySort();
  document.documentElement.dataset.ready = "1";   // for tests: the script ran
})();
