/**
 * The report page's own code and style, inlined into it and allowed by hash in its
 * Content-Security-Policy (src/report/html.ts). The script reads the data block with
 * JSON.parse and builds every element with createElement/createElementNS and
 * textContent: log content is never parsed as HTML, never set as an attribute that
 * the browser acts on (no href, no src, no on*), never evaluated.
 *
 * Kept as plain browser JavaScript in a string (no backticks, no template holes):
 * what is hashed here is byte for byte what the page runs.
 */

export const PAGE_STYLE = String.raw`
:root { --ok: #116329; --bad: #b42318; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; --bg-bad: #ffebe9; --bg-warn: #fff8c5; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
main { max-width: 1400px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 8px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin-top: 12px; }
.verdict { display: flex; gap: 20px; align-items: center; flex-wrap: wrap; }
.badge-verdict { font-size: 26px; font-weight: 700; padding: 6px 16px; border-radius: 6px; color: #fff; letter-spacing: .05em; }
.badge-verdict.ok { background: var(--ok); }
.badge-verdict.bad { background: var(--bad); }
.counts span { margin-right: 16px; white-space: nowrap; }
.counts b { font-size: 18px; }
.muted { color: var(--muted); }
dl.trust { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 0; }
dl.trust dt { color: var(--muted); }
dl.trust dd { margin: 0; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
th.sortable { cursor: pointer; user-select: none; }
th.sortable:hover { background: #eaeef2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
td.mono.nowrap { white-space: nowrap; word-break: normal; }
tr.bad td { background: var(--bg-bad); }
tr.problem td:first-child { border-left: 4px solid var(--bad); }
tr.warning td:first-child { border-left: 4px solid var(--warn); }
tr.rec { cursor: pointer; }
tr.rec:hover td { background: #eaeef2; }
tr.rec.bad:hover td { background: #ffd8d3; }
.status { font-weight: 700; font-size: 11px; padding: 1px 6px; border-radius: 10px; white-space: nowrap; }
.status.intact { color: var(--ok); }
.status.invalid, .status.unlinked { color: #fff; background: var(--bad); }
.lvl-warn { color: var(--warn); font-weight: 600; }
.lvl-error { color: var(--bad); font-weight: 600; }
pre.json { margin: 0; padding: 8px; background: #f6f8fa; border: 1px solid var(--line); border-radius: 4px; white-space: pre-wrap; word-break: break-all; max-height: 480px; overflow: auto; font-size: 12px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: end; margin-bottom: 8px; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
.filters input, .filters select, button { font: inherit; padding: 3px 6px; }
.notice { background: var(--bg-warn); border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 12px; margin-top: 8px; }
svg.chart { width: 100%; height: auto; display: block; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin-top: 4px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
.pager { margin-top: 8px; display: flex; gap: 12px; align-items: center; }
`

export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('data').textContent);
  var app = document.getElementById('app');
  var SVG = 'http://www.w3.org/2000/svg';
  var PAGE = 200;
  var COLORS = ['#0969da', '#8250df', '#1a7f37', '#bf8700', '#cf222e', '#1b7c83', '#bc4c00', '#6639ba', '#4d2d00', '#57606a', '#e85aad', '#2da44e'];
  var LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

  // Every element is made here, with text only: log content never becomes markup.
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  function iso(ms) {
    if (typeof ms !== 'number' || !isFinite(ms) || Math.abs(ms) > 8.64e15) return ms === null || ms === undefined ? '' : String(ms);
    return new Date(ms).toISOString();
  }
  function levelName(l) { return l === null || l === undefined ? '' : (LEVELS[l] || String(l)); }
  function levelClass(l) { return l >= 50 ? 'lvl-error' : l >= 40 ? 'lvl-warn' : ''; }
  function fileName(i) { return data.files[i] === undefined ? '?' : data.files[i]; }

  var problems = data.problems.length + data.omitted.problems;
  var warnings = data.warnings.length + data.omitted.warnings;

  // ---- the verdict ----
  function verdict() {
    var s = el('section');
    s.id = 'verdict-section';
    var row = add(el('div', 'verdict'), (function () {
      var b = el('div', 'badge-verdict ' + (data.ok ? 'ok' : 'bad'), data.ok ? 'INTACT' : 'PROBLEMS');
      b.id = 'verdict';
      return b;
    })());
    var counts = el('div', 'counts');
    [[data.records, 'record'], [data.chains.length, 'chain'], [data.files.length, 'file'], [problems, 'problem'], [warnings, 'warning']].forEach(function (c) {
      var sp = el('span');
      add(sp, el('b', '', c[0]), document.createTextNode(' ' + (c[0] === 1 ? c[1] : c[1] + 's')));
      counts.appendChild(sp);
    });
    row.appendChild(counts);
    s.appendChild(row);
    var dl = el('dl', 'trust');
    function item(term, value) { add(dl, el('dt', '', term), el('dd', 'mono', value)); }
    data.trust.keys.forEach(function (k) { item('key', k.path + '  (key id ' + k.kid + ')'); });
    data.trust.masters.forEach(function (k) { item('master key', k.path + '  (key id ' + k.kid + ')'); });
    data.trust.certs.forEach(function (c) { item('certificates', c); });
    var sealed = data.chains.filter(function (c) { return c.sealed; }).length;
    var headed = data.chains.filter(function (c) { return !c.sealed && c.unanchored === 0 && c.records > 0; }).length;
    item('anchored', sealed + ' of ' + plural(data.chains.length, 'chain') + ' sealed' + (headed > 0 ? ', ' + headed + ' covered by a head file' : '') +
      (data.trust.requireSeal ? ' (seal required)' : ''));
    data.trust.heads.forEach(function (h) { item('head file', h); });
    if (data.trust.state) {
      var st = data.trust.state;
      item('state file', st.file + (st.created ? ' (created by this run)' : '') + ': ' + plural(st.recorded.length, 'chain') + ' recorded' + (st.notRecorded.length ? ', ' + st.notRecorded.length + ' not (problems found)' : ''));
    }
    item('read', data.paths.join('  ') + '  in ' + (data.durationMs / 1000).toFixed(1) + ' s');
    var filterText = Object.keys(data.filter).filter(function (k) { var v = data.filter[k]; return v !== undefined && !(typeof v === 'object' && v !== null && Object.keys(v).length === 0) && v !== false; })
      .map(function (k) { return k + '=' + JSON.stringify(data.filter[k]); }).join('  ');
    if (filterText) item('filter', filterText + '  (' + plural(data.shown, 'record') + ' matched)');
    item('report written', data.generatedAt);
    s.appendChild(dl);
    return s;
  }

  // ---- chains ----
  function chains() {
    var s = el('section');
    add(s, el('h2', '', 'Chains'));
    var t = el('table');
    t.id = 'chains';
    var hr = add(el('tr'), el('th', '', 'chain'), el('th', '', 'seq'), el('th', '', 'records'), el('th', '', 'files'), el('th', '', 'sealed'), el('th', '', 'time range'), el('th', '', 'epochs'));
    add(t, add(el('thead'), hr));
    var tb = el('tbody');
    data.chains.forEach(function (c) {
      var anchored = c.sealed ? 'sealed' : c.unanchored > 0 ? 'not sealed, ' + plural(c.unanchored, 'record') + ' unanchored' : 'not sealed, anchored by a head file';
      var tr = add(el('tr', c.sealed ? '' : 'warning'),
        el('td', 'mono', c.chainId === null ? '(no chain id)' : c.chainId),
        el('td', 'num', c.records === 0 ? '' : c.firstSeq + '–' + c.lastSeq + (c.prunedBefore !== undefined ? ' (0–' + (c.prunedBefore - 1) + ' pruned)' : '')),
        el('td', 'num', c.records),
        el('td', 'mono', c.files.join('\n')),
        el('td', '', anchored),
        el('td', 'mono', (c.firstTime || '') + (c.lastTime ? ' → ' + c.lastTime : '')),
        el('td', '', c.epochs ? (c.epochs.first === c.epochs.last ? 'epoch ' + c.epochs.first : 'epochs ' + c.epochs.first + '–' + c.epochs.last) + ' of series ' + c.epochs.series.slice(0, 8) + '…, last ' + (c.epochs.closed ? 'closed' : 'open') : ''));
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    s.appendChild(t);
    return s;
  }

  // ---- findings ----
  var byLocation = {};
  data.kept.forEach(function (r) { byLocation[r.file + ':' + r.line] = r; });
  var fileIndex = {};
  data.files.forEach(function (f, i) { fileIndex['f:' + f] = i; });
  function recordOf(f) {
    if (f.line === undefined) return undefined;
    var i = fileIndex['f:' + f.file];
    return i === undefined ? undefined : byLocation[i + ':' + f.line];
  }

  function findings() {
    var s = el('section');
    add(s, el('h2', '', 'Findings (' + problems + ' ' + (problems === 1 ? 'problem' : 'problems') + ', ' + plural(warnings, 'warning') + ')'));
    if (problems + warnings === 0) { s.appendChild(el('p', 'muted', 'The verifier found nothing to report.')); return s; }
    var t = el('table');
    t.id = 'findings';
    add(t, add(el('thead'), add(el('tr'), el('th', '', 'severity'), el('th', '', 'kind'), el('th', '', 'file'), el('th', '', 'line'), el('th', '', 'seq'), el('th', '', 'message'), el('th', '', 'record'))));
    var tb = el('tbody');
    data.problems.concat(data.warnings).forEach(function (f) {
      var tr = add(el('tr', f.severity),
        el('td', '', f.severity), el('td', 'mono nowrap', f.kind), el('td', 'mono', f.file),
        // A group of findings (verify-report.md) spans lines and seqs: show the range.
        el('td', 'num', f.line === undefined ? '' : f.lastLine !== undefined ? f.line + '–' + f.lastLine : f.line),
        el('td', 'num', f.seq === undefined ? '' : f.lastSeq !== undefined ? f.seq + '–' + f.lastSeq : f.seq), el('td', '', f.message));
      var cell = el('td');
      var r = recordOf(f);
      if (r) {
        var b = el('button', '', 'show');
        b.type = 'button';
        b.addEventListener('click', function () { focusRecord(r); });
        cell.appendChild(b);
      }
      tr.appendChild(cell);
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    s.appendChild(t);
    Object.keys(data.omitted.byKind).forEach(function (k) {
      s.appendChild(el('p', 'muted', '… and ' + data.omitted.byKind[k] + ' more ' + k + ' findings (the verifier lists the first 1000 of each kind).'));
    });
    return s;
  }

  // ---- timeline ----
  function timeline() {
    var s = el('section');
    add(s, el('h2', '', 'Timeline'));
    var tl = data.timeline;
    if (!tl) { s.appendChild(el('p', 'muted', 'No record has a numeric time.')); return s; }
    var n = tl.alerts.length;
    var totals = new Array(n).fill(0);
    tl.series.forEach(function (sr) { sr.counts.forEach(function (c, i) { totals[i] += c; }); });
    var max = Math.max.apply(null, totals.concat([1]));
    var W = 1200, H = 220, left = 50, right = 10, top = 22, bottom = 34;
    var bw = (W - left - right) / n;
    var g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, 'class': 'chart', role: 'img' });
    g.id = 'timeline';
    var ttl = svg('title', {});
    ttl.textContent = 'records per ' + (tl.widthMs / 1000) + ' s, by event type';
    g.appendChild(ttl);
    var y = function (v) { return top + (H - top - bottom) * (1 - v / max); };
    g.appendChild(svg('line', { x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, stroke: '#8c959f' }));
    [0, max].forEach(function (v) {
      var t = svg('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#57606a' });
      t.textContent = String(v);
      g.appendChild(t);
    });
    for (var i = 0; i < n; i++) {
      var base = 0;
      tl.series.forEach(function (sr, k) {
        var c = sr.counts[i];
        if (!c) return;
        var r = svg('rect', { x: left + i * bw + 0.5, width: Math.max(bw - 1, 0.5), y: y(base + c), height: y(base) - y(base + c), fill: COLORS[k % COLORS.length] });
        var tip = svg('title', {});
        tip.textContent = iso(tl.start + i * tl.widthMs) + ': ' + c + ' ' + sr.type;
        r.appendChild(tip);
        g.appendChild(r);
        base += c;
      });
      var marks = [];
      if (tl.notIntact[i]) marks.push([tl.notIntact[i] + ' not intact', '#b42318', '✖']);
      if (tl.alerts[i]) marks.push([tl.alerts[i] + ' alert' + (tl.alerts[i] === 1 ? '' : 's'), '#cf222e', '▲']);
      else if (tl.warnings[i]) marks.push([tl.warnings[i] + ' warning or error', '#bf8700', '●']);
      marks.forEach(function (m, j) {
        var t = svg('text', { x: left + (i + 0.5) * bw, y: top - 6, dx: (j - (marks.length - 1) / 2) * 11, 'text-anchor': 'middle', 'font-size': 12, fill: m[1], 'class': 'mark' });
        t.textContent = m[2];
        var tip = svg('title', {});
        tip.textContent = iso(tl.start + i * tl.widthMs) + ': ' + m[0];
        t.appendChild(tip);
        g.appendChild(t);
      });
    }
    [[0, 'start'], [n, 'end']].forEach(function (p) {
      var t = svg('text', { x: left + p[0] * bw, y: H - bottom + 16, 'text-anchor': p[1], 'font-size': 11, fill: '#57606a' });
      t.textContent = iso(tl.start + p[0] * tl.widthMs);
      g.appendChild(t);
    });
    var cap = svg('text', { x: (W + left) / 2, y: H - 4, 'text-anchor': 'middle', 'font-size': 11, fill: '#57606a' });
    cap.textContent = 'records per ' + (tl.widthMs >= 60000 ? (tl.widthMs / 60000).toFixed(1) + ' min' : (tl.widthMs / 1000) + ' s') + ' bucket';
    g.appendChild(cap);
    s.appendChild(g);
    var legend = el('div', 'legend');
    tl.series.forEach(function (sr, k) {
      var item = el('span');
      var sw = el('span', 'swatch');
      sw.style.background = COLORS[k % COLORS.length];
      add(item, sw, document.createTextNode(sr.type));
      legend.appendChild(item);
    });
    add(legend, el('span', '', '▲ alert'), el('span', '', '● warning or error'), el('span', '', '✖ record not intact'));
    s.appendChild(legend);
    if (data.untimed) s.appendChild(el('p', 'muted', plural(data.untimed, 'record') + ' without a numeric time are not on the timeline.'));
    return s;
  }

  // ---- records ----
  var state = { event: '', level: 0, status: '', since: null, until: null, text: '', sort: 'n', dir: 1, limit: PAGE, focus: null };
  var open = {};
  var lowered = null;
  var tbody, countLine, pager, focusLine;

  function matches(r, i) {
    if (state.focus !== null) return r === state.focus;
    if (state.event && r.event !== state.event && !(state.event === '(none)' && r.event === null)) return false;
    if (state.level && !(r.level !== null && r.level >= state.level)) return false;
    if (state.status === 'not-intact' && r.status === 'intact') return false;
    if (state.status === 'alerts' && r.reason !== 'alert') return false;
    if (state.since !== null && !(r.time !== null && r.time >= state.since)) return false;
    if (state.until !== null && !(r.time !== null && r.time < state.until)) return false;
    if (state.text) {
      if (lowered === null) lowered = data.kept.map(function (k) { return k.json.toLowerCase(); });
      if (lowered[i].indexOf(state.text) < 0) return false;
    }
    return true;
  }
  function compare(a, b) {
    var k = state.sort;
    var x = a[k], y = b[k];
    if (x === y) return (a.n - b.n) * state.dir;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * state.dir;
  }
  function prettyJson(r) {
    var text = r.json;
    try { text = JSON.stringify(JSON.parse(r.json), null, 2); } catch (e) { /* a cut or malformed line: shown as stored */ }
    if (r.cutFrom !== undefined) text += '\n… cut here: the stored line has ' + r.cutFrom + ' bytes (audit-chain show prints it whole)';
    return text;
  }
  function renderRecords() {
    var rows = [];
    for (var i = 0; i < data.kept.length; i++) if (matches(data.kept[i], i)) rows.push(data.kept[i]);
    if (state.sort !== 'n' || state.dir !== 1) rows.sort(compare);
    tbody.textContent = '';
    var frag = document.createDocumentFragment();
    rows.slice(0, state.limit).forEach(function (r) {
      var tr = add(el('tr', 'rec' + (r.status !== 'intact' ? ' bad' : '')),
        el('td', 'num', r.n + 1),
        el('td', 'mono nowrap', iso(r.time)),
        el('td', levelClass(r.level), levelName(r.level)),
        el('td', 'mono nowrap', r.event === null ? '' : r.event),
        el('td', '', r.msg === null ? '' : r.msg),
        el('td', 'mono', fileName(r.file) + ':' + r.line),
        el('td', 'num', r.seq));
      var stCell = el('td');
      stCell.appendChild(el('span', 'status ' + r.status, r.status === 'intact' ? 'intact' : r.status.toUpperCase()));
      tr.appendChild(stCell);
      tr.dataset.status = r.status;
      tr.dataset.n = String(r.n);
      tr.title = r.reason === 'sample' ? '' : 'kept because: ' + r.reason;
      frag.appendChild(tr);
      // The record's JSON is built when first opened: 200 pretty-printed records nobody reads cost the load time.
      var detail = el('tr', 'detail');
      var td = el('td');
      td.colSpan = 8;
      detail.appendChild(td);
      var show = function () {
        detail.hidden = !open[r.n];
        if (open[r.n] && !td.firstChild) td.appendChild(el('pre', 'json', prettyJson(r)));
      };
      show();
      tr.addEventListener('click', function () { open[r.n] = !open[r.n]; show(); });
      frag.appendChild(detail);
    });
    tbody.appendChild(frag);
    countLine.textContent = plural(rows.length, 'record') + ' match' + (rows.length === 1 ? 'es' : '') + (rows.length > state.limit ? '; the first ' + state.limit + ' are listed' : '') + '.';
    pager.hidden = rows.length <= state.limit;
    focusLine.hidden = state.focus === null;
  }

  function focusRecord(r) {
    state.focus = r;
    open[r.n] = true;
    renderRecords();
    document.getElementById('records-section').scrollIntoView();
  }

  function parseTime(text) {
    if (!text.trim()) return null;
    var t = Date.parse(text.trim());
    return isNaN(t) ? NaN : t;
  }

  function records() {
    var s = el('section');
    s.id = 'records-section';
    add(s, el('h2', '', 'Records'));
    var leftOut = Object.keys(data.priorityLeftOut).reduce(function (a, k) { return a + data.priorityLeftOut[k]; }, 0);
    if (data.sampledOut > 0 || leftOut > 0) {
      s.appendChild(el('p', 'notice',
        'This page carries ' + data.kept.length + ' of the ' + plural(data.shown, 'record') + ' read (at most ' + data.maxRecords + '): every alert, warning and error, every record that is not intact and the ' +
        'records around it, the last records of each chain, and an evenly spaced sample of the rest. Left out: ' + plural(data.sampledOut, 'ordinary record') +
        (leftOut > 0 ? ' and ' + leftOut + ' must-see records beyond the limit (' + Object.keys(data.priorityLeftOut).map(function (k) { return k + ' ' + data.priorityLeftOut[k]; }).join(', ') + ')' : '') +
        '. The counts, the timeline and the verdict cover every record; audit-chain show prints them all.'));
    }
    var f = el('div', 'filters');
    function labelled(text, input) { var l = el('label', '', text); l.appendChild(input); f.appendChild(l); return input; }
    var ev = el('select');
    ev.id = 'filter-event';
    ev.appendChild(el('option', '', 'all events')).value = '';
    data.byEvent.forEach(function (e) { var o = el('option', '', e.event + ' (' + e.count + ')'); o.value = e.event; ev.appendChild(o); });
    labelled('event', ev).addEventListener('change', function () { state.event = ev.value; state.limit = PAGE; state.focus = null; renderRecords(); });
    var lv = el('select');
    lv.id = 'filter-level';
    [['', 'any level'], ['20', 'debug+'], ['30', 'info+'], ['40', 'warn+'], ['50', 'error+'], ['60', 'fatal']].forEach(function (o) { var op = el('option', '', o[1]); op.value = o[0]; lv.appendChild(op); });
    labelled('level', lv).addEventListener('change', function () { state.level = Number(lv.value) || 0; state.limit = PAGE; state.focus = null; renderRecords(); });
    var st = el('select');
    st.id = 'filter-status';
    [['', 'all records'], ['not-intact', 'not intact only'], ['alerts', 'alerts only']].forEach(function (o) { var op = el('option', '', o[1]); op.value = o[0]; st.appendChild(op); });
    labelled('status', st).addEventListener('change', function () { state.status = st.value; state.limit = PAGE; state.focus = null; renderRecords(); });
    function timeInput(id, key) {
      var input = el('input');
      input.id = id;
      input.placeholder = 'ISO time, e.g. 2026-11-24T09:00Z';
      input.size = 24;
      input.addEventListener('change', function () {
        var t = parseTime(input.value);
        input.setCustomValidity(isNaN(t) ? 'an ISO 8601 time, such as 2026-11-24T09:00:00Z' : '');
        input.reportValidity();
        state[key] = isNaN(t) ? null : t; state.limit = PAGE; state.focus = null; renderRecords();
      });
      return input;
    }
    labelled('from', timeInput('filter-since', 'since'));
    labelled('before', timeInput('filter-until', 'until'));
    var tx = el('input');
    tx.id = 'filter-text';
    tx.type = 'search';
    tx.placeholder = 'any text in the record';
    tx.size = 30;
    var timer = null;
    labelled('text', tx).addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.text = tx.value.toLowerCase(); state.limit = PAGE; state.focus = null; renderRecords(); }, 150);
    });
    s.appendChild(f);
    focusLine = el('p', 'notice');
    add(focusLine, document.createTextNode('Showing the record of a finding. '));
    var all = el('button', '', 'show all records');
    all.type = 'button';
    all.addEventListener('click', function () { state.focus = null; renderRecords(); });
    focusLine.appendChild(all);
    s.appendChild(focusLine);
    countLine = el('p', 'muted');
    countLine.id = 'records-count';
    s.appendChild(countLine);
    var t = el('table');
    t.id = 'records';
    var hr = el('tr');
    [['n', '#'], ['time', 'time'], ['level', 'level'], ['event', 'event'], ['msg', 'message'], ['file', 'file:line'], ['seq', 'seq'], ['status', 'status']].forEach(function (c) {
      var th = el('th', 'sortable', c[1]);
      th.dataset.sort = c[0];
      th.title = 'sort by ' + c[1];
      th.addEventListener('click', function () {
        if (state.sort === c[0]) state.dir = -state.dir; else { state.sort = c[0]; state.dir = 1; }
        Array.prototype.forEach.call(hr.children, function (h) { h.textContent = h.textContent.replace(/ [▲▼]$/, ''); });
        th.textContent = c[1] + (state.dir === 1 ? ' ▲' : ' ▼');
        renderRecords();
      });
      hr.appendChild(th);
    });
    add(t, add(el('thead'), hr));
    tbody = el('tbody');
    t.appendChild(tbody);
    s.appendChild(t);
    pager = el('div', 'pager');
    var more = el('button', '', 'show ' + PAGE + ' more');
    more.type = 'button';
    more.id = 'records-more';
    more.addEventListener('click', function () { state.limit += PAGE; renderRecords(); });
    pager.appendChild(more);
    s.appendChild(pager);
    return s;
  }

  function summary() {
    var s = el('section');
    add(s, el('h2', '', 'Events'));
    var t = el('table');
    add(t, add(el('thead'), add(el('tr'), el('th', '', 'event'), el('th', '', 'records'))));
    var tb = el('tbody');
    data.byEvent.forEach(function (e) { tb.appendChild(add(el('tr'), el('td', 'mono', e.event), el('td', 'num', e.count))); });
    t.appendChild(tb);
    s.appendChild(t);
    var st = data.byStatus.map(function (b) { return b.count + ' ' + b.status; }).join(', ');
    s.appendChild(el('p', 'muted', 'By status: ' + (st || 'no records') + '. By level: ' + data.byLevel.map(function (b) { return b.count + ' ' + (b.level === null ? 'without level' : levelName(b.level)); }).join(', ') + '.'));
    return s;
  }

  app.textContent = '';
  add(app, el('h1', '', 'Audit log report'), verdict(), chains(), timeline(), findings(), summary(), records());
  renderRecords();
  document.title = (data.ok ? 'INTACT' : 'PROBLEMS') + ' — audit-chain report';
  document.body.dataset.ready = 'true';
})();
`
