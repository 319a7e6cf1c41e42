/* The reference dashboard: every figure comes from the public REST API (/api/v1/), called with the
 * analyst's API key. The key lives in this tab's sessionStorage only: never in a URL, a cookie or
 * localStorage, so closing the tab forgets it. A 401 (key revoked, expired or mistyped) forgets it
 * too and returns to the login page. Each widget makes the calls it needs, once per page load (and
 * again only when its own control changes); nothing polls. */
(function () {
  "use strict";

  const KEY = "dash.key", ME = "dash.me", NEXT = "dash.next", REASON = "dash.reason", DAYS = "dash.days";
  const API = "/api/v1";
  const LOGIN = "/login/";
  const palette = JSON.parse(document.getElementById("dash-palette").textContent);
  // Chart.js point styles standing in for the reports' matplotlib markers (o s ^ D v P X *).
  const POINTS = { o: "circle", s: "rect", "^": "triangle", D: "rectRot", v: "triangle", P: "crossRot", X: "cross", "*": "star" };
  const DASH = { "-": [], "--": [6, 4], "-.": [6, 3, 1, 3], ":": [1, 3] };
  const charts = new Map(); // canvas id -> Chart, outside Alpine's reactive proxies

  class AuthError extends Error {}

  function logout(reason) {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(ME);
    if (reason) sessionStorage.setItem(REASON, reason);
    const here = location.pathname + location.search;
    if (location.pathname !== LOGIN) sessionStorage.setItem(NEXT, here);
    location.replace(LOGIN);
  }

  async function request(path, { method = "GET", body, raw = false, key } = {}) {
    const apiKey = key || sessionStorage.getItem(KEY);
    if (!apiKey) {
      logout("");
      throw new AuthError("not logged in");
    }
    const headers = { Authorization: "Api-Key " + apiKey, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(API + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store",
    });
    if (res.status === 401 && !key) {
      logout("Your API key was revoked or has expired: log in with a valid key.");
      throw new AuthError("unauthorized");
    }
    if (raw) return res;
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      const detail = data && (data.detail || JSON.stringify(data));
      const err = new Error(detail || res.status + " " + res.statusText);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  /** Brands in reading order: the organization's own (those with competitors) first, then by age. */
  function ordered(brands) {
    return [...brands].sort((a, b) => (b.competitors.length > 0) - (a.competitors.length > 0) || a.id - b.id);
  }

  /** Every page of a cursor-paginated list (the dashboard's lists are short: brands, sources...). */
  async function list(path) {
    let out = [], url = path;
    for (let guard = 0; url && guard < 20; guard++) {
      const page = await request(url);
      out = out.concat(page.results);
      url = page.next ? page.next.slice(page.next.indexOf(API) + API.length) : null;
    }
    return out;
  }

  function days() {
    const d = Number(sessionStorage.getItem(DAYS));
    return [1, 7, 30, 90].includes(d) ? d : 30;
  }

  function rangeQuery(d) {
    const to = new Date();
    const from = new Date(to.getTime() - d * 86400000);
    const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), interval: d <= 2 ? "hour" : "day" });
    return q.toString();
  }

  const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  const intf = new Intl.NumberFormat();
  const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const dayf = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

  function bucketLabel(iso, interval) {
    const d = new Date(iso);
    return interval === "hour"
      ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  }

  /** Draw or update a line chart. ``series``: [{label, data, colour?}]. The canvas keeps the number
   * of points in data-points, which is what the browser test watches. */
  function lineChart(id, buckets, interval, series, { percent = false } = {}) {
    const canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return;
    const labels = buckets.map((b) => bucketLabel(b, interval));
    const datasets = series.map((s, i) => ({
      label: s.label,
      data: s.data,
      borderColor: s.colour || colour(i),
      backgroundColor: s.colour || colour(i),
      pointStyle: POINTS[palette.markers[i % palette.markers.length]] || "circle",
      borderDash: DASH[palette.dashes[i % palette.dashes.length]] || [],
      pointRadius: buckets.length > 60 ? 0 : 3,
      borderWidth: 2,
      tension: 0.2,
    }));
    let chart = charts.get(id);
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets = datasets;
      chart.update();
    } else {
      chart = new Chart(canvas, {
        type: "line",
        data: { labels, datasets },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { labels: { usePointStyle: true } } },
          scales: { y: { beginAtZero: !percent, ticks: percent ? {} : { precision: 0 } } },
        },
      });
      charts.set(id, chart);
    }
    canvas.dataset.points = String(buckets.length);
    return { head: ["", ...series.map((s) => s.label)], rows: buckets.map((b, j) => [bucketLabel(b, interval), ...series.map((s) => s.data[j])]) };
  }

  function esc(s) {
    return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function colour(i) { return palette.series[i % palette.series.length]; }

  const Dash = {
    request, list, ordered, days, rangeQuery, lineChart, colour, logout,
    int: (n) => (n === null || n === undefined ? "—" : intf.format(n)),
    num: (n) => (n === null || n === undefined ? "—" : nf.format(n)),
    signed: (n) => (n === null || n === undefined ? "—" : (n > 0 ? "+" : n < 0 ? "−" : "") + nf.format(Math.abs(n))),
    pct: (n) => (n === null || n === undefined ? "—" : (100 * n).toFixed(1) + " %"),
    when: (iso) => (iso ? dtf.format(new Date(iso)) : "—"),
    day: (iso) => (iso ? dayf.format(new Date(iso)) : "—"),
    brandName: (brands, id) => (brands.find((b) => b.id === id) || { name: "brand " + id }).name,
    sourceName: (sources, id) => (sources.find((s) => s.id === id) || { name: "source " + id }).name,
    metricName: (m) => ({ negative_volume: "negative spike", negative_share: "negative share spike" })[m] || m.replaceAll("_", " "),
    modelLine(model) {
      const versions = (model.versions || []).map((v) => v.name + " (" + intf.format(v.mentions) + ")").join(", ");
      let line = "Read by " + (versions || "no model yet") + "; active: " + model.active + ".";
      if (model.reread && !model.reread.complete) line += " Re-reading: " + intf.format(model.reread.done) + " of " + intf.format(model.reread.total) + ".";
      return line;
    },
    metricsLine(metrics) {
      if (!metrics || !Object.keys(metrics).length) return "—";
      return Object.entries(metrics).filter(([, v]) => typeof v === "number").slice(0, 4)
        .map(([k, v]) => k.replaceAll("_", " ") + " " + nf.format(v)).join(" · ") || "see the API";
    },
    readBy(m, models) {
      const e = m.enrichment;
      if (!e) return "not read by a model yet";
      const v = models.find((x) => x.id === e.model_version);
      return "read by " + (v ? v.name : "version " + e.model_version) + (e.sentiment_probs && e.sentiment ? " (" + Math.round(100 * e.sentiment_probs[e.sentiment]) + " %)" : "");
    },
    attemptLine(d) {
      const last = (d.attempt_log || [])[d.attempt_log.length - 1];
      if (!last) return d.last_error || "not attempted yet";
      return (last.status_code ? "HTTP " + last.status_code : last.outcome) + (last.duration_ms !== null ? " in " + last.duration_ms + " ms" : "") + (last.error ? ": " + last.error : "");
    },
    /** A sentiment split as a stacked bar with its figures written out (colour is never the only cue). */
    splitBar(s) {
      const total = s.positive + s.neutral + s.negative;
      if (!total) return '<span class="hint">no scored mentions</span>';
      const part = (k) => '<span class="seg" style="width:' + (100 * s[k] / total).toFixed(1) + "%;background:" + palette.sentiment[k] + '"></span>';
      return '<span class="split" aria-hidden="true">' + part("positive") + part("neutral") + part("negative") + "</span>" +
        '<span class="split-text">' + s.positive + " positive, " + s.neutral + " neutral, " + s.negative + " negative</span>";
    },
    seriesTable(t) {
      if (!t || !t.rows.length) return "";
      return "<table><thead><tr>" + t.head.map((h) => '<th scope="col">' + esc(h) + "</th>").join("") + "</tr></thead><tbody>" +
        t.rows.map((r) => "<tr>" + r.map((c, i) => (i ? '<td class="num">' + esc(c) + "</td>" : '<th scope="row">' + esc(c) + "</th>")).join("") + "</tr>").join("") +
        "</tbody></table>";
    },
  };
  window.Dash = Dash;

  /** A widget's common state: loading, error, and a guard that shows an error instead of a blank. */
  function widget(extra) {
    return Object.assign({
      loading: true, error: "", saved: "",
      async guard(fn) {
        this.loading = true; this.error = "";
        try { await fn(); } catch (e) { if (!(e instanceof AuthError)) this.error = "Could not load: " + e.message; }
        finally { this.loading = false; }
      },
    }, extra);
  }

  const isLogin = document.body.dataset.page === "login";
  if (!isLogin && !sessionStorage.getItem(KEY)) logout("");

  document.addEventListener("alpine:init", () => {
    const A = window.Alpine;

    A.data("session", () => ({
      me: JSON.parse(sessionStorage.getItem(ME) || "null"),
      logout() { sessionStorage.removeItem(REASON); logout(""); sessionStorage.removeItem(NEXT); },
    }));

    A.data("login", () => ({
      key: "", error: "", busy: false,
      reason: sessionStorage.getItem(REASON) || "",
      async submit() {
        this.busy = true; this.error = "";
        try {
          const me = await request("/me/", { key: this.key.trim() });
          sessionStorage.setItem(KEY, this.key.trim());
          sessionStorage.setItem(ME, JSON.stringify(me));
          sessionStorage.removeItem(REASON);
          const next = sessionStorage.getItem(NEXT) || "/";
          sessionStorage.removeItem(NEXT);
          // Only a path on this site: never somewhere another page put in storage.
          location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
        } catch (e) {
          this.error = e.status === 401 ? "That key is not valid (mistyped, revoked or expired)." : "Could not log in: " + e.message;
        } finally { this.busy = false; }
      },
    }));

    A.data("overview", () => widget({
      days: days(), brands: [], alerts: [], rows: [], model: null, table: null,
      init() {
        this.guard(async () => {
          const [brands, alerts] = await Promise.all([list("/brands/"), request("/alerts/?status=open")]);
          this.brands = ordered(brands); this.alerts = alerts.results;
          await this.load();
        });
      },
      setRange() { sessionStorage.setItem(DAYS, String(this.days)); this.guard(() => this.load()); },
      async load() {
        if (!this.brands.length) return;
        const ids = this.brands.slice(0, 20).map((b) => b.id).join(",");
        const d = await request("/comparisons/?brands=" + ids + "&" + rangeQuery(this.days));
        this.rows = d.brands; this.model = d.model;
        this.table = lineChart("series-chart", d.buckets, d.range.interval, d.brands.map((b) => ({ label: b.name, data: b.series.volume })));
      },
    }));

    A.data("campaigns", () => widget({
      list: [], selected: null, m: null, table: null,
      init() {
        this.guard(async () => {
          this.list = await list("/campaigns/");
          if (this.list.length) { this.selected = this.list[0].id; await this.fetch(); }
        });
      },
      load() { this.guard(() => this.fetch()); },
      async fetch() {
        this.m = await request("/campaigns/" + this.selected + "/metrics/");
        await this.$nextTick();
        const s = this.m.series, c = palette.sentiment;
        this.table = lineChart("campaign-chart", this.m.buckets, this.m.range.interval, [
          { label: "positive", data: s.positive, colour: c.positive },
          { label: "neutral", data: s.neutral, colour: "#777777" },
          { label: "negative", data: s.negative, colour: c.negative },
        ]);
      },
    }));

    A.data("competitors", () => widget({
      days: days(), rows: [], topics: [], model: null, table: null,
      init() { this.guard(() => this.fetch()); },
      setRange() { sessionStorage.setItem(DAYS, String(this.days)); this.guard(() => this.fetch()); },
      async fetch() {
        if (!this.brandIds) {
          const brands = await list("/brands/");
          // The first brand that has competitors, with them; else every brand.
          const own = brands.find((b) => b.competitors.length);
          this.brandIds = (own ? [own.id, ...own.competitors] : brands.map((b) => b.id)).slice(0, 20);
        }
        if (!this.brandIds.length) return;
        const d = await request("/comparisons/?topics=true&brands=" + this.brandIds.join(",") + "&" + rangeQuery(this.days));
        this.rows = d.brands; this.topics = d.topics || []; this.model = d.model;
        this.table = lineChart("sov-chart", d.buckets, d.range.interval, d.brands.map((b) => ({ label: b.name, data: b.series.net_sentiment })), { percent: true });
      },
      brandIds: null,
    }));

    A.data("audiences", () => widget({
      brands: [], selected: null, data: null,
      init() {
        this.guard(async () => {
          this.brands = ordered(await list("/brands/"));
          const own = this.brands.find((b) => b.competitors.length) || this.brands[0];
          if (own) { this.selected = own.id; await this.fetch(); }
        });
      },
      load() { this.guard(() => this.fetch()); },
      async fetch() { this.data = await request("/brands/" + this.selected + "/affinities/"); },
    }));

    A.data("mentions", () => widget({
      brands: [], sources: [], models: [], items: [], next: null, prev: null,
      // PLACE FOR THE LABEL FILTER (custom classifiers, wired later): add its query parameter here.
      // The API's channel facet (Mention.channel) has no filter yet: "Channel" filters the source kind.
      f: { brand: "", sentiment: "", source: "", source_kind: "", q: "" },
      init() {
        this.guard(async () => {
          const [brands, sources, models] = await Promise.all([list("/brands/"), list("/sources/"), list("/models/")]);
          Object.assign(this, { brands: ordered(brands), sources, models });
          await this.fetch(this.query());
        });
      },
      query() {
        const q = new URLSearchParams({ page_size: "25" });
        for (const [k, v] of Object.entries(this.f)) if (String(v).trim()) q.set(k, String(v).trim());
        return "/mentions/?" + q.toString();
      },
      search() { this.guard(() => this.fetch(this.query())); },
      page(url) { if (url) this.guard(() => this.fetch(url)); },
      async fetch(path) {
        const d = await request(path);
        const rel = (u) => (u ? u.slice(u.indexOf(API) + API.length) : null);
        this.items = d.results; this.next = rel(d.next); this.prev = rel(d.previous);
      },
      // PLACE FOR SUGGESTED REPLIES (reply suggestions, wired later): fetch the drafts of a customer
      // message into its data-slot="suggested-replies" and send a ranking to /feedback/preferences.
      async correct(m, field, value) {
        if (!value) return;
        this.saved = ""; this.error = "";
        try {
          const fb = await request("/mentions/" + m.id + "/feedback", { method: "POST", body: { [field]: value } });
          if (field === "sentiment") m.sentiment = value;
          this.saved = "Recorded: " + field + " " + value + " for this mention (feedback " + fb.id + "); the next fine-tuning cycle learns from it.";
        } catch (e) {
          if (!(e instanceof AuthError)) this.error = e.status === 403 ? "Your key's role cannot record corrections (viewers read only)." : "Not recorded: " + e.message;
        }
      },
    }));

    A.data("modelsPage", () => widget({
      versions: [], reread: null, active: "",
      role: (JSON.parse(sessionStorage.getItem(ME) || "{}").role) || "",
      get isOwner() { return this.role === "owner"; },
      init() { this.guard(() => this.fetch()); },
      async fetch() {
        const [versions, brands] = await Promise.all([list("/models/"), request("/brands/?page_size=1")]);
        this.versions = versions;
        this.active = (versions.find((v) => v.status === "active") || {}).name || "";
        // Re-read progress is part of every analytics answer's "model" block: ask the cheapest one.
        if (brands.results.length) {
          const d = await request("/comparisons/?brands=" + brands.results[0].id + "&" + rangeQuery(1));
          this.reread = d.model.reread; this.active = d.model.active || this.active;
        }
      },
      async promote(v) {
        if (!confirm("Promote " + v.name + "? The stored mentions are then re-read by it.")) return;
        await this.act(() => request("/models/" + v.id + "/promote", { method: "POST", body: {} }), v.name + " is now active.");
      },
      async rollback() {
        if (!confirm("Roll back to the previous version?")) return;
        await this.act(() => request("/models/rollback", { method: "POST" }), "Rolled back.");
      },
      async act(fn, message) {
        this.error = ""; this.saved = "";
        try { await fn(); this.saved = message; await this.fetch(); } catch (e) { if (!(e instanceof AuthError)) this.error = e.message; }
      },
    }));

    A.data("alertsPage", () => widget({
      alerts: [], brands: [], hooks: [], deliveries: {},
      init() {
        this.guard(async () => {
          const [alerts, brands, hooks] = await Promise.all([request("/alerts/?page_size=50"), list("/brands/"), list("/webhooks/")]);
          this.alerts = alerts.results; this.brands = brands; this.hooks = hooks;
          const logs = await Promise.all(hooks.map((h) => request("/webhooks/" + h.id + "/deliveries/?page_size=20")));
          const out = {};
          hooks.forEach((h, i) => { out[h.id] = logs[i].results; });
          this.deliveries = out;
        });
      },
      async falsePositive(a) {
        this.error = ""; this.saved = "";
        try {
          const updated = await request("/alerts/" + a.id + "/false-positive/", { method: "POST" });
          Object.assign(a, updated);
          this.saved = "Marked as a false positive: the rule raises its threshold for this brand.";
        } catch (e) { if (!(e instanceof AuthError)) this.error = e.status === 403 ? "Your key's role cannot mark alerts." : e.message; }
      },
    }));

    A.data("reportsPage", () => widget({
      reports: [], runs: {},
      init() {
        this.guard(async () => {
          this.reports = await list("/reports/");
          const pages = await Promise.all(this.reports.map((r) => request("/reports/" + r.id + "/runs/?page_size=5")));
          const out = {};
          this.reports.forEach((r, i) => { out[r.id] = pages[i].results; });
          this.runs = out;
        });
      },
      async download(r, run, fmt) {
        // The file needs the key in a header, so it is fetched here and handed over as a blob.
        this.error = "";
        try {
          const res = await request("/reports/" + r.id + "/runs/" + run.id + "/download?format=" + fmt, { raw: true });
          if (!res.ok) throw new Error(res.status + " " + res.statusText);
          const url = URL.createObjectURL(await res.blob());
          const a = document.createElement("a");
          a.href = url; a.download = r.name.replace(/[^\w.-]+/g, "-") + "-" + run.id + "." + fmt;
          document.body.appendChild(a); a.click(); a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10000);
        } catch (e) { if (!(e instanceof AuthError)) this.error = "Download failed: " + e.message; }
      },
    }));
  });
})();
