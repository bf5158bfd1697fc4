// The dashboard's pages, drawn from the JSON API (/api/...): sweeps, a sweep, a run, a comparison.
// Live: polls /api/changes every second and redraws the page's data when the database changed.
// Database text only ever reaches the page as text (textContent, text nodes), never parsed as markup.
(function () {
  'use strict';
  var Charts = window.SlopeCharts;
  var app = document.getElementById('app');
  var refreshPage = null;      // the current page's redraw, called when the database changes
  var refreshing = false;
  var watchesRunning = false;  // the page shows running runs: redraw now and then even without commits
  var CLOCK_REDRAW = 10000;    // ms: a worker dies without a commit, and its runs turn stalled with time alone
  var EPOCH_ROWS = 100;       // rows of a run's epoch table: the latest epochs /api/runs/ID always has (DashboardData.latestEpochs)

  // MARK: helpers

  /** An element with attributes (properties for on* handlers) and children (strings become text nodes). */
  function el(tag, attributes, children) {
    var element = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) {
      var value = attributes[key];
      if (value === null || value === undefined || value === false) { return; }
      if (key.indexOf('on') === 0) { element.addEventListener(key.slice(2), value); }
      else if (key === 'className') { element.className = value; }
      else { element.setAttribute(key, value === true ? '' : String(value)); }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) { return; }
      element.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
    });
    return element;
  }

  function replace(container, child) {
    while (container.firstChild) { container.removeChild(container.firstChild); }
    if (child) { container.appendChild(child); }
  }

  function query(parameters) {
    var parts = [];
    Object.keys(parameters).forEach(function (key) {
      var value = parameters[key];
      if (value !== null && value !== undefined && value !== '') { parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(value)); }
    });
    return parts.length ? '?' + parts.join('&') : '';
  }

  /** GET /api/PATH as JSON; a 4xx/5xx answer rejects with the server's one-line message. */
  function api(path, parameters) {
    return fetch('/api/' + path + query(parameters || {}), { credentials: 'same-origin', cache: 'no-store' }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new ApiError(body.error || ('HTTP ' + response.status)); }
        return body;
      });
    });
  }

  function ApiError(message) { this.message = message; }

  /** Shows an API error in `container` (a user-level problem, e.g. a bad filter); rethrows anything else. */
  function showError(container) {
    return function (error) {
      if (!(error instanceof ApiError)) { throw error; }
      replace(container, el('p', { className: 'error' }, [error.message]));
    };
  }

  var format = Charts.format;
  /** A table cell of a run's column: numbers formatted (right-aligned), text as text, missing values empty. */
  function valueCell(value) {
    return el('td', { className: typeof value === 'string' ? 'text' : '' }, [typeof value === 'number' ? format(value) : value === null || value === undefined ? '' : value]);
  }

  /** Previous / "runs 1–50 of N" / next over a page of an /api/.../runs answer; `move(offset)` draws another page. */
  function pager(page, move, emptyText, extra) {
    var last = Math.min(page.offset + page.limit, page.total);
    return el('div', { className: 'controls' }, [
      el('button', { className: 'previous', disabled: page.offset === 0, onclick: function () { move(Math.max(0, page.offset - page.limit)); } }, ['◀ previous']),
      el('span', { className: 'page-info' }, [page.total ? 'runs ' + (page.offset + 1) + '–' + last + ' of ' + page.total : emptyText]),
      el('button', { className: 'next', disabled: last >= page.total, onclick: function () { move(page.offset + page.limit); } }, ['next ▶']),
    ].concat(extra || []));
  }

  /** "45 s", "12 min", "3.5 h", "2.0 days": how long ago a heartbeat was. */
  function age(seconds) {
    if (seconds < 120) { return Math.round(seconds) + ' s'; }
    if (seconds < 7200) { return Math.round(seconds / 60) + ' min'; }
    return seconds < 172800 ? (seconds / 3600).toFixed(1) + ' h' : (seconds / 86400).toFixed(1) + ' days';
  }
  /** A running run whose worker is gone (`stalled`: its last heartbeat and that heartbeat's age). */
  function stalledText(stalled) {
    return 'running, but its worker is gone: ' + (stalled.heartbeat_at ? 'last heartbeat ' + age(stalled.heartbeat_age) + ' ago (' + stalled.heartbeat_at + ')' : 'no heartbeat recorded');
  }
  /** A run's status; a stalled run (running, its worker gone) shows as `stalled`, with its last heartbeat on hover. */
  function statusCell(status, stalled) {
    if (stalled) { return el('td', { className: 'text status-stalled', title: stalledText(stalled) }, ['stalled']); }
    return el('td', { className: 'text status-' + status }, [status]);
  }
  /** A sweep's running runs that lost their worker: how many, the latest heartbeat among them, and how to go on. */
  function sweepStalledText(sweep) {
    var runs = sweep.stalled.runs;
    var heartbeat = sweep.stalled.heartbeat_at ? 'last heartbeat ' + age(sweep.stalled.heartbeat_age) + ' ago' : 'no heartbeat recorded';
    return 'stalled: ' + runs + ' run' + (runs === 1 ? '' : 's') + ' without a worker (' + heartbeat + ') — run `' + sweep.stalled.resume + '`' + (sweep.stalled.resume_note ? ' ' + sweep.stalled.resume_note : '');
  }
  function crumbs(items) {
    var nav = document.getElementById('crumbs');
    replace(nav, null);
    items.forEach(function (item) { nav.appendChild(item[1] ? el('a', { href: item[1] }, [item[0]]) : el('span', {}, [item[0]])); });
  }
  /** The page's own sweep or run does not exist (a wrong address): say so instead of an empty page. */
  function pageMissing(error) {
    if (!(error instanceof ApiError)) { throw error; }
    refreshPage = null;
    replace(app, el('div', {}, [el('p', { className: 'error', id: 'page-missing' }, [error.message]), el('p', {}, [el('a', { href: '/' }, ['all sweeps and runs'])])]));
  }
  function runLabel(run) { return 'run ' + run.id + (run.name ? ' ' + run.name : ''); }
  function figure(chart, caption) { return el('figure', {}, [chart, caption ? el('figcaption', {}, [caption]) : null]); }

  // MARK: live updates

  var lastToken = null, lastRedraw = Date.now();
  function poll() {
    var live = document.getElementById('live');
    api('changes').then(function (body) {
      live.className = 'live on';
      live.textContent = 'live · checked ' + new Date().toLocaleTimeString();
      if (lastToken === null || !refreshPage) {
        lastToken = body.token;
      } else if ((body.token !== lastToken || (watchesRunning && Date.now() - lastRedraw > CLOCK_REDRAW)) && !refreshing) {
        // The token is taken only when a redraw starts: a change during a redraw triggers another.
        lastToken = body.token;
        lastRedraw = Date.now();
        refreshing = true;
        Promise.resolve(refreshPage()).catch(function (error) { if (!(error instanceof ApiError)) { throw error; } })
          .then(function () { refreshing = false; }, function (error) { refreshing = false; throw error; });
      }
    }, function () {
      live.className = 'live off';
      live.textContent = 'server not reachable';
    }).then(function () { setTimeout(poll, 1000); });
  }

  // MARK: sweeps

  function sweepsPage() {
    document.title = 'Slope: sweeps';
    crumbs([['sweeps', null]]);
    var holder = el('div'), singleHeading = el('h2', { hidden: true }, ['Single runs']), singleBox = el('div');
    var singleOffset = 0;
    replace(app, el('div', {}, [el('h1', {}, ['Sweeps']), holder, singleHeading, singleBox]));
    function draw() {
      return api('sweeps').then(function (data) {
        watchesRunning = data.sweeps.some(function (sweep) { return sweep.counts.running > 0; });
        singleHeading.hidden = !data.single_runs;
        var single = data.single_runs ? drawSingleRuns() : (replace(singleBox, null), null);
        if (data.sweeps.length === 0) {
          replace(holder, el('p', {}, [data.single_runs ? 'No sweeps yet (start one with runner sweep); the runs of runner train are listed below.' : 'No runs yet: start a sweep with runner sweep, or one run with runner train.']));
          return single;
        }
        var rows = data.sweeps.map(function (sweep) {
          var share = sweep.runs ? sweep.done / sweep.runs : 0;
          var bar = el('span', { className: 'progress' }, [el('span')]);
          bar.firstChild.style.width = Math.round(share * 100) + '%';
          return el('tr', { className: 'sweep-row', 'data-id': sweep.id }, [
            el('td', {}, [sweep.id]),
            el('td', { className: 'text' }, [el('a', { href: '/sweeps/' + sweep.id }, [sweep.name])]),
            statusCell(sweep.status, sweep.live ? null : sweep.stalled),
            el('td', {}, [sweep.done + ' / ' + sweep.runs, bar]),
            el('td', {}, [sweep.counts.running ? String(sweep.counts.running) : '']),
            el('td', {}, [format(sweep.best)]),
            el('td', { className: 'text note' }, [sweep.metric]),
            el('td', { className: 'text' }, [sweep.live ? el('span', { className: 'badge' }, ['live']) : '',
              sweep.stalled ? el('span', { className: 'stalled-note' }, [sweepStalledText(sweep)]) : '']),
            el('td', { className: 'text note' }, [sweep.created_at]),
          ]);
        });
        var head = ['id', 'name', 'status', 'runs done', 'running', 'best', 'metric', '', 'created'].map(function (title, index) {
          return el('th', { className: index === 1 || index > 5 ? 'text' : '' }, [title]);
        });
        replace(holder, el('div', { className: 'scroll' }, [el('table', { id: 'sweeps' }, [el('thead', {}, [el('tr', {}, head)]), el('tbody', {}, rows)])]));
        return single;
      }).catch(showError(holder));
    }

    /** The runs outside any sweep (runner train), newest first, 50 a page. */
    function drawSingleRuns() {
      var columns = ['id', 'name', 'status', 'dataset', 'layers', 'learning_rate', 'batch_size', 'epochs_done', 'final_train_loss', 'best_val_loss', 'created_at'];
      return api('runs', { where: 'sweep_id is null', sort: '-id', offset: singleOffset, limit: 50, columns: columns.concat(['epochs']).join(',') }).then(function (page) {
        var rows = page.runs.map(function (run) {
          return el('tr', { className: 'single-run-row', 'data-id': run.id }, columns.map(function (name) {
            if (name === 'id') { return el('td', {}, [el('a', { href: '/runs/' + run.id }, [run.id])]); }
            if (name === 'status') { return statusCell(run.status, run.stalled); }
            if (name === 'epochs_done') { return el('td', {}, [run.epochs_done + ' / ' + run.epochs]); }
            return valueCell(run[name]);
          }));
        });
        var controls = pager(page, function (offset) { singleOffset = offset; drawSingleRuns(); }, 'none', [el('span', { className: 'note' }, ['newest first'])]);
        var head = el('tr', {}, columns.map(function (name) { return el('th', { className: ['name', 'status', 'dataset', 'layers', 'created_at'].indexOf(name) >= 0 ? 'text' : '' }, [name]); }));
        replace(singleBox, el('div', {}, [controls, el('div', { className: 'scroll' }, [el('table', { id: 'single-runs' }, [el('thead', {}, [head]), el('tbody', {}, rows)])])]));
      }).catch(showError(singleBox));
    }
    refreshPage = draw;
    return draw();
  }

  // MARK: one sweep

  function sweepPage(sweepID) {
    // The filter, sort, page and chart choices live in the address too, so a reload or a shared link keeps them.
    var address = new URLSearchParams(location.search);
    var state = { where: address.get('where') || '', sort: address.get('sort') || '', offset: Math.max(0, Math.floor(Number(address.get('offset')) || 0)), limit: 50,
                  selected: [], heatRows: address.get('rows'), heatCols: address.get('cols'), metric: address.get('metric'), info: null, pageRuns: [] };
    function remember() {
      history.replaceState(null, '', location.pathname + query({ where: state.where, sort: state.sort, offset: state.offset || null,
                                                                 rows: state.heatRows, cols: state.heatCols, metric: state.metric }));
    }
    var header = el('div'), tableBox = el('div'), curvesBox = el('div'), heatBox = el('div'), parallelBox = el('div'), heatControls = el('div', { className: 'controls' });
    var importanceBox = el('div');
    var liveLog = el('ol', { id: 'live-log', className: 'live-log' });
    var whereInput = el('input', { type: 'text', id: 'where', value: state.where, placeholder: "e.g. learning_rate < 0.1 and status = 'completed'" });
    var form = el('form', { className: 'controls', id: 'filter', onsubmit: function (event) {
      event.preventDefault();
      state.where = whereInput.value;
      state.offset = 0;
      drawTable().then(drawHeatmap).then(drawImportance).then(drawParallel);
    } }, ['where ', whereInput, el('button', { type: 'submit' }, ['Filter']), el('span', { className: 'note' }, ['the report --where language: =, !=, <, >, in (...), like, is null, and, or, not'])]);
    replace(app, el('div', {}, [header, el('h2', {}, ['Runs']), form, tableBox,
      el('h2', {}, ['Loss curves of the selected runs']), curvesBox,
      el('h2', {}, ['Heatmap']), heatControls, heatBox,
      el('section', { id: 'importance-section' }, [el('h2', {}, ['Importance of the swept settings']), importanceBox]),
      el('h2', {}, ['Parallel coordinates']), parallelBox, liveLog]));

    function drawHeader() {
      return api('sweeps/' + sweepID).then(function (info) {
        state.info = info;
        var sweep = info.sweep;
        document.title = 'Slope: sweep ' + sweep.id + ' ' + sweep.name;
        crumbs([['sweeps', '/'], ['sweep ' + sweep.id, null]]);
        watchesRunning = sweep.counts.running > 0;
        var counts = Object.keys(sweep.counts).filter(function (k) { return sweep.counts[k]; }).map(function (k) { return sweep.counts[k] + ' ' + k; });
        var epochs = el('span', { id: 'epochs-trained', 'data-value': sweep.epochs_done }, [String(sweep.epochs_done)]);
        replace(header, el('div', {}, [
          el('h1', {}, ['Sweep ' + sweep.id + ': ', el('span', { id: 'sweep-name' }, [sweep.name]), ' ', sweep.live ? el('span', { className: 'badge' }, ['live']) : null]),
          el('p', { className: 'meta' }, ['status ', el('span', { className: 'status-' + sweep.status }, [sweep.status]), ', ' + sweep.done + ' of ' + sweep.runs + ' runs done (' + counts.join(', ') + '), ', epochs, ' epochs trained, created ' + sweep.created_at]),
          el('p', { className: 'meta' }, ['swept: ' + (info.swept.length ? info.swept.join(', ') : 'nothing (one configuration)')]),
          sweep.stalled ? el('p', { className: 'warning', id: 'sweep-stalled' }, [sweepStalledText(sweep)]) : null,
        ]));
        var last = liveLog.lastChild;
        if (!last || last.getAttribute('data-epochs') !== String(sweep.epochs_done)) {
          liveLog.appendChild(el('li', { 'data-epochs': sweep.epochs_done, 'data-at': Date.now() }, [String(sweep.epochs_done)]));
        }
        if (!state.metric) { state.metric = info.metric; }
        var settings = info.swept.length ? info.swept : ['learning_rate', 'batch_size'];
        if (!state.heatRows) { state.heatRows = settings[0]; }
        // Never a setting against itself (the heatmap API refuses it, as report grid does): with one swept setting, as report grid pairs it.
        if (!state.heatCols) { state.heatCols = settings.filter(function (name) { return name !== state.heatRows; })[0] || (state.heatRows === 'learning_rate' ? 'batch_size' : 'learning_rate'); }
        if (!heatControls.firstChild) { drawHeatControls(); }
      });
    }

    function select(id, options, value, onchange) {
      var menu = el('select', { id: id, onchange: function () { onchange(menu.value); } }, options.map(function (name) {
        return el('option', { value: name, selected: name === value }, [name]);
      }));
      return menu;
    }

    function drawHeatControls() {
      var info = state.info;
      var settings = info.swept.concat(info.settings.map(function (s) { return s.name; }).filter(function (n) { return info.swept.indexOf(n) < 0; }));
      replace(heatControls, null);
      [['rows ', select('heat-rows', settings, state.heatRows, function (v) { state.heatRows = v; remember(); drawHeatmap(); })],
       ['columns ', select('heat-cols', settings, state.heatCols, function (v) { state.heatCols = v; remember(); drawHeatmap(); })],
       ['metric (heatmap, importance, parallel coordinates) ', select('heat-metric', info.metrics, state.metric, function (v) { state.metric = v; remember(); drawHeatmap(); drawImportance(); drawParallel(); })]].forEach(function (pair) {
        heatControls.appendChild(el('label', {}, [pair[0], pair[1]]));
      });
    }

    var tableColumns = function () {
      var swept = state.info ? state.info.swept : [];
      var metrics = state.info && state.info.metrics.indexOf('best_val_loss') >= 0
        ? ['final_train_loss', 'final_val_loss', 'best_val_loss', 'best_epoch', 'final_val_accuracy']
        : ['final_train_loss', 'best_train_loss', 'best_epoch', 'final_train_accuracy'];
      return ['id', 'name', 'status'].concat(swept.filter(function (s) { return s !== 'seed'; }), swept.indexOf('seed') >= 0 ? ['seed'] : [], ['epochs_done'], metrics);
    };

    function drawTable() {
      remember();
      var columns = tableColumns();
      // Only the columns the table shows (and the planned epochs, shown with those done).
      return api('sweeps/' + sweepID + '/runs', { where: state.where, sort: state.sort, offset: state.offset, limit: state.limit,
                                                 columns: columns.concat(['epochs']).join(',') }).then(function (page) {
        state.pageRuns = page.runs;
        var head = el('tr', {}, [el('th', {}, ['plot'])].concat(columns.map(function (name) {
          var sorted = state.sort === name ? 'sorted-asc' : state.sort === '-' + name ? 'sorted-desc' : '';
          return el('th', { className: 'sortable ' + sorted + (name === 'name' || name === 'status' ? ' text' : ''), 'data-column': name, title: 'sort by ' + name,
            onclick: function () { state.sort = state.sort === name ? '-' + name : name; state.offset = 0; drawTable(); } }, [name]);
        })));
        var rows = page.runs.map(function (run) {
          var checked = state.selected.indexOf(run.id) >= 0;
          var box = el('input', { type: 'checkbox', checked: checked, 'aria-label': 'plot run ' + run.id, onchange: function () {
            if (box.checked) { state.selected.push(run.id); } else { state.selected = state.selected.filter(function (id) { return id !== run.id; }); }
            drawTable(); drawCurves();
          } });
          return el('tr', { className: 'run-row' + (checked ? ' selected' : ''), 'data-id': run.id }, [el('td', {}, [box])].concat(columns.map(function (name) {
            if (name === 'id') { return el('td', {}, [el('a', { href: '/runs/' + run.id }, [run.id])]); }
            if (name === 'status') { return statusCell(run.status, run.stalled); }
            if (name === 'epochs_done') { return el('td', { className: 'epochs' }, [run.epochs_done + ' / ' + run.epochs]); }
            return valueCell(run[name]);
          })));
        });
        var controls = pager(page, function (offset) { state.offset = offset; drawTable(); }, 'no run matches',
          [el('a', { id: 'compare-link', href: '/compare' + query({ runs: state.selected.join(',') }), hidden: state.selected.length < 2 }, ['compare the ' + state.selected.length + ' selected runs'])]);
        replace(tableBox, el('div', {}, [controls, el('div', { className: 'scroll' }, [el('table', { id: 'runs', 'data-total': page.total }, [el('thead', {}, [head]), el('tbody', {}, rows)])])]));
      }).catch(showError(tableBox));
    }

    function drawCurves() {
      // The selected runs, else the first five of the table's page.
      var ids = state.selected.length ? state.selected.slice(0, 50) : state.pageRuns.slice(0, 5).map(function (run) { return run.id; });
      if (ids.length === 0) { replace(curvesBox, el('p', { className: 'note' }, ['no runs to plot'])); return Promise.resolve(); }
      return api('curves', { runs: ids.join(','), metric: state.info ? state.info.curve_metric : null }).then(function (data) {
        var series = data.series.map(function (s) { return { label: runLabel({ id: s.run_id, name: s.name }), points: s.points }; });
        var values = [];
        series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] > 0) { values.push(p[1]); } }); });
        var logY = values.length > 1 && Math.max.apply(null, values) / Math.min.apply(null, values) > 100;
        replace(curvesBox, figure(Charts.lineChart(series, { yLabel: data.metric, logY: logY, width: 760 }),
          Charts.legend(series.map(function (s) { return s.label; }))));
        if (!state.selected.length) { curvesBox.appendChild(el('p', { className: 'note' }, ['Showing the first runs of the table: tick "plot" to choose.'])); }
      }).catch(showError(curvesBox));
    }

    function drawHeatmap() {
      if (!state.heatRows) { return Promise.resolve(); }
      return api('sweeps/' + sweepID + '/heatmap', { rows: state.heatRows, cols: state.heatCols, metric: state.metric, where: state.where }).then(function (data) {
        if (data.cells.length === 0) { replace(heatBox, el('p', { className: 'note' }, ['no run to show'])); return; }
        replace(heatBox, figure(Charts.heatmap(data), data.metric + ': mean over the other settings (goal: ' + data.goal + '); hover a cell for spread and counts; ★ best' + (data.note ? '; ' + data.note : '')));
      }).catch(showError(heatBox));
    }

    function drawImportance() {
      return api('sweeps/' + sweepID + '/importance', { metric: state.metric, where: state.where }).then(function (data) {
        if (data.settings.length === 0) { replace(importanceBox, el('p', { className: 'note', id: 'importance-note' }, [data.note || 'nothing to show'])); return; }
        var rows = data.settings.map(function (item) {
          var bar = el('span', { className: 'share' }, [el('span')]);
          bar.firstChild.style.width = Math.round(item.importance * 100) + '%';
          return el('tr', { className: 'importance-row', 'data-setting': item.setting, 'data-importance': item.importance }, [
            el('td', { className: 'text' }, [item.setting]),
            el('td', {}, [(item.importance * 100).toFixed(1) + ' %', bar]),
            el('td', {}, [item.groups]),
            el('td', { className: 'text' }, [item.best_group]),
            el('td', {}, [format(item.best_mean)]),
            el('td', { className: 'text merged' }, [item.merged.join(' ')]),
          ]);
        });
        var head = el('tr', {}, ['setting', 'explains', 'groups', 'best group', 'its mean', 'merged'].map(function (title, index) {
          return el('th', { className: [0, 3, 5].indexOf(index) >= 0 ? 'text' : '' }, [title]);
        }));
        // As report importance: what was merged into which setting, and shares that overlap, above the table.
        var notes = data.notes.map(function (note) { return el('p', { className: 'note importance-notes' }, [note]); });
        replace(importanceBox, el('figure', { id: 'importance-figure' }, notes.concat([el('div', { className: 'scroll' }, [el('table', { id: 'importance' }, [el('thead', {}, [head]), el('tbody', {}, rows)])]),
          el('figcaption', {}, ['the share of the variance of ' + data.metric + ' among the ' + data.runs + ' finished runs that each setting\'s main effect explains ' +
          '(as report importance: numbers with more than 8 values in 5 quantile bins); best group by goal ' + data.goal + '; merged: ' +
          'the settings whose value follows from this one\'s, not ranked apart'])])));
      }).catch(showError(importanceBox));
    }

    function drawParallel() {
      return api('sweeps/' + sweepID + '/parallel', { metric: state.metric, where: state.where }).then(function (data) {
        if (data.runs.length === 0) { replace(parallelBox, el('p', { className: 'note' }, ['no run to show'])); return; }
        replace(parallelBox, figure(Charts.parallel(data), 'one line per run, green best by ' + data.metric +
          (data.total > data.runs.length ? ' (the best ' + data.runs.length + ' of ' + data.total + ' runs)' : '')));
      }).catch(showError(parallelBox));
    }

    function drawAll() {
      if (!state.info) { return drawHeader().then(drawAll, pageMissing); }  // the first time: does the sweep exist?
      return drawHeader().then(function () { return drawTable(); }).then(function () { return Promise.all([drawCurves(), drawHeatmap(), drawImportance(), drawParallel()]); })
        .catch(showError(header));
    }
    refreshPage = drawAll;
    return drawAll();
  }

  // MARK: one run

  function flatten(value, prefix, out) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      Object.keys(value).sort().forEach(function (key) { flatten(value[key], prefix ? prefix + '.' + key : key, out); });
    } else {
      out.push([prefix, Array.isArray(value) ? JSON.stringify(value) : value]);
    }
    return out;
  }

  function runPage(runID) {
    var state = { epoch: null, tensor: null, tensorEpochs: [] };
    var header = el('div'), configBox = el('div'), curvesBox = el('div', { className: 'charts' }), epochsBox = el('div'), layersBox = el('div', { className: 'charts' }), tensorBox = el('div');
    replace(app, el('div', {}, [header, el('h2', {}, ['Curves']), curvesBox, el('h2', {}, ['Layer diagnostics']), layersBox,
      el('h2', {}, ['Tensors']), tensorBox, el('h2', {}, ['Epochs']), epochsBox, el('h2', {}, ['Configuration']), configBox]));
    var slider = el('input', { type: 'range', id: 'epoch-slider', min: 0, max: 0, step: 1, value: 0 });
    var epochLabel = el('span', { id: 'epoch-label' });
    var tensorMenu = el('select', { id: 'tensor' });
    var histogramBox = el('div'), tensorStats = el('p', { className: 'meta' }), download = el('a', { id: 'download' }, ['download .npy']);
    var tensorControls = el('div', { className: 'controls' }, [el('label', {}, ['epoch ', slider]), epochLabel, el('label', {}, ['tensor ', tensorMenu]), download]);
    replace(tensorBox, el('div', {}, [tensorControls, tensorStats, histogramBox]));
    slider.addEventListener('input', function () { state.epoch = state.tensorEpochs[Number(slider.value)]; drawTensors(); });
    tensorMenu.addEventListener('change', function () { state.tensor = tensorMenu.value; drawHistogram(); });

    function drawRun() {
      return api('runs/' + runID).then(function (data) {
        var run = data.run;
        watchesRunning = run.status === 'running';
        document.title = 'Slope: run ' + run.id;
        crumbs(run.sweep_id ? [['sweeps', '/'], ['sweep ' + run.sweep_id, '/sweeps/' + run.sweep_id], ['run ' + run.id, null]] : [['sweeps', '/'], ['run ' + run.id, null]]);
        replace(header, el('div', {}, [
          el('h1', {}, ['Run ' + run.id + (run.name ? ': ' : ''), el('span', { id: 'run-name' }, [run.name || ''])]),
          el('p', { className: 'meta' }, ['status ', el('span', { className: 'status-' + run.status }, [run.status]), run.stop_reason ? ' (' + run.stop_reason + ')' : '',
            ', epoch ', el('span', { id: 'epochs-done' }, [String(run.epochs_done)]), ' of ' + run.epochs + ', layers ' + run.layers + ', dataset ', el('code', {}, [run.dataset])]),
          run.stalled ? el('p', { className: 'warning', id: 'run-stalled' }, ['stalled: ' + stalledText(run.stalled) + ' — run `' + run.stalled.resume + '`' + (run.stalled.resume_note ? ' ' + run.stalled.resume_note : '')]) : null,
          data.error ? el('p', { className: 'error' }, [data.error]) : null,
        ]));
        var config = [];
        try { config = flatten(JSON.parse(data.config_json), '', []); } catch (error) { config = [['config', data.config_json]]; }
        var settings = data.settings.concat(['layers', 'worker', 'created_at', 'started_at', 'finished_at']);
        var pairs = settings.map(function (k) { return [k, run[k]]; }).concat(config.map(function (p) { return ['config.' + p[0], p[1]]; }));
        replace(configBox, el('table', { id: 'config' }, [el('tbody', {}, pairs.map(function (pair) {
          return el('tr', {}, [el('th', { className: 'text' }, [pair[0]]), el('td', { className: 'text' }, [pair[1] === null || pair[1] === undefined ? '' : String(pair[1])])]);
        }))]));
        var columns = ['epoch', 'train_loss', 'val_loss', 'train_accuracy', 'val_accuracy', 'seconds'].filter(function (name) {
          return data.epochs.some(function (e) { return e[name] !== null; });
        });
        var shown = data.epochs.slice(-EPOCH_ROWS).reverse();
        replace(epochsBox, el('div', { className: 'scroll' }, [
          data.epochs_stored > EPOCH_ROWS ? el('p', { className: 'note' }, ['the latest ' + EPOCH_ROWS + ' of ' + data.epochs_stored + ' epochs (all of them: report show ' + run.id + ', or /api/runs/' + run.id + '/epochs?offset=0&limit=1000)']) : null,
          el('table', { id: 'epochs' }, [
            el('thead', {}, [el('tr', {}, columns.map(function (c) { return el('th', {}, [c]); }))]),
            el('tbody', {}, shown.map(function (e) { return el('tr', { className: 'epoch-row' }, columns.map(function (c) { return el('td', {}, [c === 'epoch' ? e.epoch : format(e[c])]); })); })),
          ])]));
        if (!data.epochs.length) { replace(epochsBox, el('p', { className: 'note' }, ['no epochs stored yet'])); }
        replace(curvesBox, data.epochs.length ? null : el('p', { className: 'note' }, ['no epochs stored yet' + (run.status === 'queued' ? ': the run waits for a worker' : '')]));
        // A long run's curves get every epochs_step-th epoch (and the latest ones), so that its page stays small.
        if (data.epochs_step > 1) { curvesBox.appendChild(el('p', { className: 'note', id: 'epochs-thinned' }, ['curves of one epoch in ' + data.epochs_step + ' of the ' + data.epochs_stored + ' stored, and of the latest ' + EPOCH_ROWS + ' (every epoch: /api/runs/' + run.id + '/epochs)'])); }
        [['loss', ['train_loss', 'val_loss']], ['accuracy', ['train_accuracy', 'val_accuracy']]].forEach(function (chart) {
          var series = chart[1].map(function (name) {
            return { label: name, points: data.epochs.filter(function (e) { return e[name] !== null; }).map(function (e) { return [e.epoch, e[name]]; }) };
          }).filter(function (s) { return s.points.length; });
          if (series.length) {
            curvesBox.appendChild(figure(Charts.lineChart(series, { yLabel: chart[0], logY: chart[0] === 'loss' && spansDecades(series) }), Charts.legend(series.map(function (s) { return s.label; }))));
          }
        });
        var followLatest = state.epoch === null || state.epoch === state.tensorEpochs[state.tensorEpochs.length - 1];
        state.tensorEpochs = data.tensor_epochs;
        slider.max = Math.max(0, data.tensor_epochs.length - 1);
        tensorControls.hidden = data.tensor_epochs.length === 0;
        if (data.tensor_epochs.length === 0) { replace(histogramBox, el('p', { className: 'note' }, ['no tensors stored for this run' + (data.epochs.length ? ' (runner --log-tensors)' : ' yet')])); return null; }
        // A long run's tensor epochs are thinned as its epochs are: the slider moves over those listed.
        var thinnedNote = document.getElementById('tensor-epochs-thinned');
        if (thinnedNote) { thinnedNote.remove(); }  // drawn again on every refresh
        if (data.tensor_epochs_step > 1) { tensorControls.appendChild(el('p', { className: 'note', id: 'tensor-epochs-thinned' }, ['one tensor epoch in ' + data.tensor_epochs_step + ' of the ' + data.tensor_epochs_stored + ' stored, and the latest ' + EPOCH_ROWS + ' (any other: report tensors ' + run.id + ' --epoch E)'])); }
        if (followLatest) { state.epoch = data.tensor_epochs[data.tensor_epochs.length - 1]; }
        slider.value = data.tensor_epochs.indexOf(state.epoch);
        return drawTensors();
      });
    }

    function spansDecades(series) {
      var values = [];
      series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] > 0) { values.push(p[1]); } }); });
      return values.length > 1 && Math.max.apply(null, values) / Math.min.apply(null, values) > 100;
    }

    function drawTensors() {
      epochLabel.textContent = 'epoch ' + state.epoch;
      return api('runs/' + runID + '/tensors', { epoch: state.epoch }).then(function (data) {
        var names = data.tensors.map(function (t) { return t.layer + ':' + t.kind; });
        if (names.indexOf(state.tensor) < 0) {
          state.tensor = names.filter(function (name) { return /:weight$/.test(name); })[0] || names[0];
        }
        replace(tensorMenu, null);
        data.tensors.forEach(function (t) {
          var name = t.layer + ':' + t.kind;
          tensorMenu.appendChild(el('option', { value: name, selected: name === state.tensor }, ['layer ' + t.layer + ' ' + t.kind + ' [' + t.rows + ' x ' + t.cols + ']']));
        });
        return drawHistogram();
      }).catch(showError(histogramBox));
    }

    function drawHistogram() {
      if (!state.tensor) { return Promise.resolve(); }
      var parts = state.tensor.split(':');
      var parameters = { epoch: state.epoch, layer: parts[0], kind: parts[1] };
      download.setAttribute('href', '/api/runs/' + runID + '/tensor.npy' + query(parameters));
      return api('runs/' + runID + '/histogram', parameters).then(function (data) {
        tensorStats.textContent = 'layer ' + data.layer + ' ' + data.kind + ' at epoch ' + data.epoch + ': ' + data.count + ' values from ' + format(data.min) + ' to ' + format(data.max) +
          (data.non_finite ? ', ' + data.non_finite + ' not finite' : '');
        replace(histogramBox, figure(Charts.histogram(data)));
      }).catch(showError(histogramBox));
    }

    function drawLayers() {
      return api('runs/' + runID + '/layers').then(function (data) {
        replace(layersBox, null);
        if (data.layers.length === 0) { layersBox.appendChild(el('p', { className: 'note' }, ['no tensors stored for this run'])); return; }
        var layers = data.layers.map(function (r) { return r.layer; }).filter(function (l, i, all) { return all.indexOf(l) === i; });
        if (data.epochs_step > 1) { layersBox.appendChild(el('p', { className: 'note', id: 'layers-thinned' }, ['one tensor epoch in ' + data.epochs_step + ' of the ' + data.epochs_stored + ' stored, and the latest ' + EPOCH_ROWS + ' (every one: /api/runs/' + runID + '/layers?offset=0&limit=1000)'])); }
        [['gradient_l2', 'L2 of the epoch mean gradient'], ['weight_l2', 'L2 of the weights'], ['update_to_weight_ratio', 'update-to-weight ratio (~1e-3 healthy)']].forEach(function (metric) {
          var series = layers.map(function (layer) {
            return { label: 'layer ' + layer, points: data.layers.filter(function (r) { return r.layer === layer && r[metric[0]] !== null; }).map(function (r) { return [r.epoch, r[metric[0]]]; }) };
          });
          layersBox.appendChild(figure(Charts.lineChart(series, { yLabel: metric[0], logY: true, width: 400, height: 240 }),
            el('div', {}, [metric[1], Charts.legend(series.map(function (s) { return s.label; }))])));
        });
      });
    }

    var found = false;
    function drawAll() {
      if (!found) { return api('runs/' + runID).then(function () { found = true; return drawAll(); }, pageMissing); }  // the first time: does the run exist?
      return Promise.all([drawRun(), drawLayers()]).catch(showError(header));
    }
    refreshPage = drawAll;
    return drawAll();
  }

  // MARK: comparison

  function comparePage() {
    var ids = new URLSearchParams(location.search).get('runs') || '';
    document.title = 'Slope: compare runs';
    crumbs([['sweeps', '/'], ['compare', null]]);
    var input = el('input', { type: 'text', id: 'compare-runs', value: ids, placeholder: 'run ids, e.g. 3,7,12' });
    var tableBox = el('div'), curvesBox = el('div');
    replace(app, el('div', {}, [el('h1', {}, ['Compare runs']),
      el('form', { className: 'controls', onsubmit: function (event) { event.preventDefault(); location.search = query({ runs: input.value.replace(/\s+/g, '') }); } },
        ['runs ', input, el('button', { type: 'submit' }, ['Compare'])]),
      tableBox, el('h2', {}, ['Curves']), curvesBox]));
    if (!ids) { replace(tableBox, el('p', { className: 'note' }, ['Give run ids separated by commas, or select runs on a sweep page.'])); refreshPage = null; return Promise.resolve(); }
    function draw() {
      return api('compare', { runs: ids }).then(function (data) {
        var runs = data.runs.map(function (entry) { return entry.run; });
        var results = ['status', 'epochs_done', 'final_train_loss', 'final_val_loss', 'best_train_loss', 'best_val_loss', 'best_epoch', 'final_val_accuracy'];
        var settings = data.differing.concat(data.settings.filter(function (s) { return data.differing.indexOf(s) < 0; }));
        var rows = results.concat(settings).filter(function (name) { return runs.some(function (run) { return run[name] !== null; }); }).map(function (name) {
          var differs = data.differing.indexOf(name) >= 0;
          return el('tr', { className: differs ? 'differs' : '' }, [el('th', { className: 'text' }, [name + (differs ? ' ≠' : '')])].concat(runs.map(function (run) {
            return valueCell(run[name]);
          })));
        });
        var head = el('tr', {}, [el('th')].concat(runs.map(function (run) { return el('th', { className: 'text' }, [el('a', { href: '/runs/' + run.id }, [runLabel(run)])]); })));
        replace(tableBox, el('div', { className: 'scroll' }, [el('table', { id: 'compare' }, [el('thead', {}, [head]), el('tbody', {}, rows)]),
          el('p', { className: 'note' }, ['≠ marks the settings that differ.'])]));
        return api('curves', { runs: ids }).then(function (curves) {
          var series = curves.series.map(function (s) { return { label: runLabel({ id: s.run_id, name: s.name }), points: s.points }; });
          replace(curvesBox, figure(Charts.lineChart(series, { yLabel: curves.metric, width: 760 }), Charts.legend(series.map(function (s) { return s.label; }))));
        });
      }).catch(showError(tableBox));
    }
    refreshPage = draw;
    return draw();
  }

  // MARK: routing

  function route() {
    var path = location.pathname;
    var match;
    if (path === '/') { return sweepsPage(); }
    if ((match = /^\/sweeps\/(\d+)$/.exec(path))) { return sweepPage(Number(match[1])); }
    if ((match = /^\/runs\/(\d+)$/.exec(path))) { return runPage(Number(match[1])); }
    if (path === '/compare') { return comparePage(); }
    replace(app, el('p', { className: 'error' }, ['no such page']));
    return Promise.resolve();
  }

  Promise.resolve(route()).then(function () { document.body.setAttribute('data-loaded', 'true'); });
  poll();
})();
