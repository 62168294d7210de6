(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var S = { cause: "", upstream: "", route: "", from: null, to: null };
  function all(sel, el) { return Array.prototype.slice.call((el || document).querySelectorAll(sel)); }
  function one(sel, el) { return (el || document).querySelector(sel); }
  function secs(iso) { return Date.parse(iso + "Z") / 1000; }
  function iso(t) { return new Date(t * 1000).toISOString().slice(0, 19).replace("T", " "); }
  function fmt(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function has(text, part) { return !part || String(text).toLowerCase().indexOf(part.toLowerCase()) >= 0; }
  function show(el, on) { el.classList.toggle("off", !on); }
  var causes = {};
  D.causes.forEach(function (c) { causes[c.cause] = c; });
  // Cells of the activity (failures per 10 s, cause and upstream), when the
  // report holds them; the zoom of the tables by time uses them. Each is a
  // row [key, first, last, count, attempts, repeats, other_routes, route,
  // count, ...] naming the activity's keys and routes by index.
  var A = D.activity || {};
  var cells = (Array.isArray(A.cells) ? A.cells : []).map(function (r) {
    if (!Array.isArray(r)) { return r; }
    var k = (A.keys || [])[r[0]] || {}, routes = [];
    for (var i = 7; i + 1 < r.length; i += 2) { routes.push({ route: (A.routes || [])[r[i]], count: r[i + 1] }); }
    return { cause: k.cause, upstream: k.upstream, first: r[1], attempts: r[4], routes: routes };
  });
  var inRange = function (t) { return S.from === null || (t >= S.from && t < S.to); };
  function causeCount(c) {
    if (S.from === null) { return c.count; }
    var n = 0;
    c.timeline.forEach(function (p) { if (inRange(secs(p.start))) { n += p.count; } });
    return n;
  }
  function zoomCounts(cause, field) {
    var out = {};
    cells.forEach(function (c) {
      if (c.cause !== cause || !inRange(c.first)) { return; }
      if (field === "upstream") {
        var u = c.upstream || "";
        out[u] = (out[u] || 0) + c.attempts;
      } else {
        (c.routes || []).forEach(function (r) { out[r.route] = (out[r.route] || 0) + r.count; });
      }
    });
    return out;
  }
  function causeMatches(c) {
    if (S.cause && c.cause !== S.cause) { return false; }
    if (S.upstream && !c.upstreams.some(function (u) { return has(u.upstream, S.upstream); })) { return false; }
    if (S.route && !c.routes.some(function (r) { return has(r.route, S.route); })) { return false; }
    return causeCount(c) > 0;
  }
  function apply() {
    var shown = 0;
    all("[data-cause]").forEach(function (el) {
      var c = causes[el.getAttribute("data-cause")];
      if (c) { var on = causeMatches(c); show(el, on); if (on && el.tagName === "TR") { shown++; } }
    });
    all("td[data-count]").forEach(function (td) {
      var c = causes[td.getAttribute("data-count")];
      if (c) { var n = causeCount(c); td.textContent = fmt(n); td.setAttribute("data-v", n); }
    });
    all("table[data-keys]").forEach(function (table) {
      var field = table.getAttribute("data-keys"), cause = table.getAttribute("data-of");
      var zoom = S.from !== null && cells.length ? zoomCounts(cause, field) : null;
      var rows = all("tbody tr[data-key]", table), max = 0;
      rows.forEach(function (tr) {
        var key = tr.getAttribute("data-key");
        var n = zoom ? (zoom[key] || 0) : Number(tr.getAttribute("data-all"));
        one("td.n", tr).textContent = fmt(n);
        one("td.n", tr).setAttribute("data-v", n);
        var filter = field === "upstream" ? S.upstream : S.route;
        show(tr, n > 0 && has(key, filter));
        if (n > max) { max = n; }
      });
      rows.forEach(function (tr) {
        var r = one("svg.bar rect", tr);
        if (r) { r.setAttribute("width", max ? (Number(one("td.n", tr).getAttribute("data-v")) / max * 100).toFixed(1) : 0); }
      });
    });
    all(".card[data-start]").forEach(function (card) {
      var i = D.incidents[Number(card.getAttribute("data-index"))];
      var on = !!i;
      if (i && S.from !== null) { on = secs(i.end) >= S.from && secs(i.start) < S.to; }
      if (i && S.cause) { on = on && i.causes.some(function (c) { return c.cause === S.cause; }); }
      if (i && S.upstream) { on = on && i.upstreams.some(function (u) { return has(u.upstream, S.upstream); }); }
      if (i && S.route) { on = on && i.routes.some(function (r) { return has(r.route, S.route); }); }
      show(card, on);
    });
    var sel = one("#chart rect.sel"), svg = one("#chart svg");
    if (sel && svg) {
      var a = axis(svg);
      if (S.from === null) { sel.setAttribute("width", 0); } else {
        var xa = a.x(Math.max(S.from, a.t0)), xb = a.x(Math.min(S.to, a.t1));
        sel.setAttribute("x", xa); sel.setAttribute("width", Math.max(0, xb - xa));
      }
    }
    var out = one("#tools-status");
    if (out) {
      var what = shown + " of " + D.causes.length + " causes shown";
      if (S.from !== null) { what += "; " + iso(S.from) + " to " + iso(S.to); }
      out.textContent = what;
    }
    writeHash();
  }
  function axis(svg) {
    var g = function (k) { return Number(svg.getAttribute("data-" + k)); };
    var a = { t0: g("t0"), t1: g("t1"), x0: g("x0"), x1: g("x1") };
    a.x = function (t) { return a.x0 + (t - a.t0) / Math.max(1, a.t1 - a.t0) * (a.x1 - a.x0); };
    a.t = function (x) { return Math.round(a.t0 + (x - a.x0) / (a.x1 - a.x0) * (a.t1 - a.t0)); };
    return a;
  }
  function writeHash() {
    var p = [];
    Object.keys(S).forEach(function (k) { if (S[k] !== "" && S[k] !== null) { p.push(k + "=" + encodeURIComponent(S[k])); } });
    try { history.replaceState(null, "", p.length ? "#" + p.join("&") : location.pathname + location.search); } catch (e) { /* a page without history */ }
  }
  function readHash() {
    location.hash.slice(1).split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i < 0) { return; }
      var k = decodeURIComponent(kv.slice(0, i)), v = decodeURIComponent(kv.slice(i + 1));
      if (k === "from" || k === "to") { if (isFinite(Number(v)) && v !== "") { S[k] = Number(v); } } else if (k in S) { S[k] = v; }
    });
    if (S.from === null || S.to === null || S.to <= S.from) { S.from = S.to = null; }
  }
  function setRange(a, b) { if (b > a) { S.from = a; S.to = b; } else { S.from = S.to = null; } apply(); }
  // Sortable tables: a button in each heading, numbers by data-v.
  all("table.sortable").forEach(function (table) {
    all("thead th", table).forEach(function (th, col) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () {
        var down = th.getAttribute("aria-sort") !== "descending";
        all("thead th", table).forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > col; });
        var key = function (r) {
          var c = r.cells[col], v = c.getAttribute("data-v");
          return v !== null && v !== "" && isFinite(Number(v)) ? Number(v) : c.textContent.toLowerCase();
        };
        rows.sort(function (x, y) {
          var a = key(x), b2 = key(y), r = a < b2 ? -1 : a > b2 ? 1 : 0;
          return down ? -r : r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  // The toolbar.
  var tools = one("#tools");
  if (tools) {
    var cs = one("#f-cause"), us = one("#f-upstream"), rs = one("#f-route");
    D.causes.forEach(function (c) { var o = document.createElement("option"); o.value = c.cause; o.textContent = c.cause + " (" + fmt(c.count) + ")"; cs.appendChild(o); });
    var ups = {};
    D.causes.forEach(function (c) { c.upstreams.forEach(function (u) { ups[u.upstream] = (ups[u.upstream] || 0) + u.count; }); });
    Object.keys(ups).sort(function (a, b) { return ups[b] - ups[a]; }).slice(0, 300).forEach(function (u) {
      var o = document.createElement("option"); o.value = u; o.textContent = u; us.appendChild(o);
    });
    cs.addEventListener("change", function () { S.cause = cs.value; apply(); });
    us.addEventListener("change", function () { S.upstream = us.value; apply(); });
    rs.addEventListener("input", function () { S.route = rs.value.trim(); apply(); });
    one("#f-reset").addEventListener("click", function () {
      S.cause = S.upstream = S.route = ""; S.from = S.to = null;
      cs.value = us.value = rs.value = ""; apply();
    });
    tools.hidden = false;
  }
  // Zoom to an incident.
  all(".card[data-start]").forEach(function (card) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "zoom"; b.textContent = "zoom to this incident";
    b.addEventListener("click", function () {
      setRange(Number(card.getAttribute("data-start")), Number(card.getAttribute("data-end")) + 1);
    });
    card.appendChild(b);
  });
  // Brush a time range on the timeline.
  var svg = one("#chart svg");
  if (svg) {
    var a = axis(svg), area = one("rect.brush", svg), sel = one("rect.sel", svg), start = null;
    var toX = function (ev) {
      var p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY;
      var x = p.matrixTransform(svg.getScreenCTM().inverse()).x;
      return Math.min(a.x1, Math.max(a.x0, x));
    };
    area.addEventListener("pointerdown", function (ev) { start = toX(ev); area.setPointerCapture(ev.pointerId); sel.setAttribute("x", start); sel.setAttribute("width", 0); });
    area.addEventListener("pointermove", function (ev) {
      if (start === null) { return; }
      var x = toX(ev); sel.setAttribute("x", Math.min(x, start)); sel.setAttribute("width", Math.abs(x - start));
    });
    area.addEventListener("pointerup", function (ev) {
      if (start === null) { return; }
      var x = toX(ev), lo = Math.min(x, start), hi = Math.max(x, start);
      start = null;
      if (hi - lo < 3) { setRange(0, 0); } else { setRange(a.t(lo), a.t(hi)); }
    });
  }
  readHash();
  if (one("#f-cause")) { one("#f-cause").value = S.cause; one("#f-upstream").value = S.upstream; one("#f-route").value = S.route; }
  apply();
  document.documentElement.setAttribute("data-js", "ready");
})();
