// SVG charts drawn in the browser from the JSON API: line charts, the heatmap, parallel
// coordinates and histograms. Every text from the database goes in through textContent.
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

  function node(tag, attributes, text) {
    var element = document.createElementNS(NS, tag);
    Object.keys(attributes || {}).forEach(function (key) { element.setAttribute(key, String(attributes[key])); });
    if (text !== undefined) { element.textContent = String(text); }
    return element;
  }

  function svg(width, height, label) {
    var element = node('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, role: 'img' });
    if (label) { element.appendChild(node('title', {}, label)); }
    return element;
  }

  /** Short number text: 4 significant digits, exponent for very small or large values. */
  function format(value) {
    if (value === null || value === undefined) { return '-'; }
    if (typeof value !== 'number') { return String(value); }
    if (!isFinite(value)) { return String(value); }
    if (value === 0) { return '0'; }
    var magnitude = Math.abs(value);
    if (magnitude >= 1e5 || magnitude < 1e-3) { return value.toExponential(2); }
    return String(Number(value.toPrecision(4)));
  }

  /** Evenly spaced "nice" ticks over [low, high]. */
  function ticks(low, high, count) {
    if (!(high > low)) { return [low]; }
    var step = Math.pow(10, Math.floor(Math.log10((high - low) / count)));
    [1, 2, 5, 10].some(function (factor) { if ((high - low) / (step * factor) <= count) { step *= factor; return true; } return false; });
    var result = [];
    for (var value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) { result.push(Number(value.toPrecision(12))); }
    return result;
  }

  /**
   * Ticks of a log axis, as exponents over [low, high] (log10 of the values): whole powers of ten
   * when the range holds at least two (at most 6 of them shown), else 1, 2 and 5 times powers of
   * ten, else evenly spaced exponents.
   */
  function logTicks(low, high) {
    var powers = [], nice = [], k;
    for (k = Math.ceil(low); k <= Math.floor(high); k++) { powers.push(k); }
    if (powers.length >= 2) {
      var every = Math.ceil(powers.length / 6);
      return powers.filter(function (power, index) { return index % every === 0; });
    }
    for (k = Math.floor(low); k <= Math.ceil(high); k++) {
      [1, 2, 5].forEach(function (factor) { var t = k + Math.log10(factor); if (t >= low && t <= high) { nice.push(t); } });
    }
    return nice.length >= 2 ? nice : ticks(low, high, 5);
  }

  /** A log axis label: 0.02, 5, 1e-4 (not 1.00e-4 or 0.019999). */
  function logLabel(value) {
    var rounded = Number(value.toPrecision(3));
    return rounded >= 1e5 || rounded < 1e-3 ? rounded.toExponential() : String(rounded);
  }

  function color(index) { return PALETTE[index % PALETTE.length]; }

  /**
   * A line chart. series: [{label, points: [[x, y], ...]}]. options: {xLabel, yLabel, logY, width, height}.
   * Non-finite and (with logY) non-positive values are left out.
   */
  function lineChart(series, options) {
    options = options || {};
    var width = options.width || 560, height = options.height || 300;
    var margin = { left: 62, right: 12, top: 12, bottom: 40 };
    var logY = !!options.logY;
    var chart = svg(width, height, options.title);
    chart.setAttribute('class', 'line-chart');
    var clean = series.map(function (s) {
      return { label: s.label, points: s.points.filter(function (p) { return isFinite(p[0]) && p[1] !== null && isFinite(p[1]) && (!logY || p[1] > 0); }) };
    });
    var xs = [], ys = [];
    clean.forEach(function (s) { s.points.forEach(function (p) { xs.push(p[0]); ys.push(logY ? Math.log10(p[1]) : p[1]); }); });
    if (xs.length === 0) {
      chart.appendChild(node('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no values yet'));
      return chart;
    }
    var xLow = Math.min.apply(null, xs), xHigh = Math.max.apply(null, xs);
    var yLow = Math.min.apply(null, ys), yHigh = Math.max.apply(null, ys);
    if (xHigh === xLow) { xHigh = xLow + 1; }
    if (yHigh === yLow) { yHigh = yLow + 1; yLow -= 1; }
    var pad = (yHigh - yLow) * 0.05; yLow -= pad; yHigh += pad;
    var plotWidth = width - margin.left - margin.right, plotHeight = height - margin.top - margin.bottom;
    function sx(x) { return margin.left + (x - xLow) / (xHigh - xLow) * plotWidth; }
    function sy(y) { return margin.top + (1 - (y - yLow) / (yHigh - yLow)) * plotHeight; }
    var yTicks = logY ? logTicks(yLow, yHigh) : ticks(yLow, yHigh, 5);
    yTicks.forEach(function (t) {
      chart.appendChild(node('line', { x1: margin.left, x2: width - margin.right, y1: sy(t), y2: sy(t), class: 'grid' }));
      chart.appendChild(node('text', { x: margin.left - 4, y: sy(t) + 4, 'text-anchor': 'end' }, logY ? logLabel(Math.pow(10, t)) : format(t)));
    });
    ticks(xLow, xHigh, 8).forEach(function (t) {
      chart.appendChild(node('text', { x: sx(t), y: height - margin.bottom + 14, 'text-anchor': 'middle' }, format(t)));
    });
    chart.appendChild(node('line', { x1: margin.left, x2: margin.left, y1: margin.top, y2: height - margin.bottom, class: 'axis' }));
    chart.appendChild(node('line', { x1: margin.left, x2: width - margin.right, y1: height - margin.bottom, y2: height - margin.bottom, class: 'axis' }));
    chart.appendChild(node('text', { x: margin.left + plotWidth / 2, y: height - 6, 'text-anchor': 'middle' }, options.xLabel || 'epoch'));
    chart.appendChild(node('text', { x: 12, y: margin.top + plotHeight / 2, 'text-anchor': 'middle',
                                     transform: 'rotate(-90 12 ' + (margin.top + plotHeight / 2) + ')' }, (options.yLabel || '') + (logY ? ' (log)' : '')));
    clean.forEach(function (s, index) {
      if (s.points.length === 0) { return; }
      var path = s.points.map(function (p, i) { return (i ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(logY ? Math.log10(p[1]) : p[1]).toFixed(1); }).join(' ');
      var line = node('path', { d: path, fill: 'none', stroke: color(index), 'stroke-width': 1.6, class: 'series' });
      line.appendChild(node('title', {}, s.label));
      chart.appendChild(line);
      if (s.points.length === 1) {
        chart.appendChild(node('circle', { cx: sx(s.points[0][0]), cy: sy(logY ? Math.log10(s.points[0][1]) : s.points[0][1]), r: 3, fill: color(index) }));
      }
    });
    return chart;
  }

  /** A legend (HTML) for series drawn in palette order. */
  function legend(labels) {
    var list = document.createElement('div');
    list.className = 'note';
    labels.forEach(function (label, index) {
      var item = document.createElement('span');
      item.style.color = color(index);
      item.textContent = '■ ';
      list.appendChild(item);
      list.appendChild(document.createTextNode(label + '   '));
    });
    return list;
  }

  /** Red (worst) to green (best) through yellow; goodness in [0, 1]. */
  function goodnessColor(goodness) {
    var red = goodness < 0.5 ? 230 : 230 - (goodness - 0.5) * 2 * 130;
    var green = goodness < 0.5 ? 90 + goodness * 2 * 130 : 220;
    return 'rgb(' + Math.round(red) + ',' + Math.round(green) + ',110)';
  }

  /** The heatmap of /api/sweeps/ID/heatmap: one rect.heat-cell per (row, col) pair that has runs. */
  function heatmap(data) {
    var cellWidth = 96, cellHeight = 34, left = 110, top = 44;
    var width = left + data.column_values.length * cellWidth + 10, height = top + data.row_values.length * cellHeight + 10;
    var chart = svg(width, height, data.metric + ' by ' + data.rows + ' and ' + data.cols);
    chart.setAttribute('class', 'heatmap');
    var means = data.cells.map(function (c) { return c.mean; }).filter(function (m) { return m !== null; });
    var low = Math.min.apply(null, means), high = Math.max.apply(null, means);
    chart.appendChild(node('text', { x: 4, y: 14 }, data.rows + ' \\ ' + data.cols));
    data.column_values.forEach(function (value, column) {
      chart.appendChild(node('text', { x: left + column * cellWidth + cellWidth / 2, y: top - 8, 'text-anchor': 'middle' }, format(value)));
    });
    data.row_values.forEach(function (value, row) {
      chart.appendChild(node('text', { x: left - 6, y: top + row * cellHeight + cellHeight / 2 + 4, 'text-anchor': 'end' }, format(value)));
    });
    data.cells.forEach(function (cell) {
      var row = data.row_values.indexOf(cell.row), column = data.column_values.indexOf(cell.col);
      var x = left + column * cellWidth, y = top + row * cellHeight;
      var fill = '#eeeeee';
      if (cell.mean !== null) {
        var goodness = high > low ? (cell.mean - low) / (high - low) : 1;
        if (data.goal === 'min') { goodness = 1 - goodness; }
        fill = goodnessColor(goodness);
      }
      // Diverged and failed runs have no value (as report grid): counted apart, named when a cell has nothing else.
      var leftOut = [[cell.diverged, 'diverged'], [cell.failed, 'failed']].filter(function (pair) { return pair[0] > 0; })
        .map(function (pair) { return pair[0] + ' ' + pair[1]; }).join(', ');
      var rect = node('rect', { x: x + 1, y: y + 1, width: cellWidth - 2, height: cellHeight - 2, fill: fill,
                                class: 'heat-cell' + (cell.best ? ' best' : ''), 'data-mean': cell.mean === null ? '' : cell.mean });
      rect.appendChild(node('title', {}, data.rows + ' ' + format(cell.row) + ', ' + data.cols + ' ' + format(cell.col) + ': ' +
        data.metric + ' mean ' + format(cell.mean) + (cell.std !== null && cell.values > 1 ? ' ± ' + format(cell.std) : '') +
        ', min ' + format(cell.min) + ', max ' + format(cell.max) + ' (' + cell.runs + ' runs, ' + cell.values + ' with a value' +
        (leftOut ? '; left out: ' + leftOut : '') + ')'));
      chart.appendChild(rect);
      chart.appendChild(node('text', { x: x + cellWidth / 2, y: y + cellHeight / 2 + 4, 'text-anchor': 'middle' },
        (cell.best ? '★ ' : '') + (cell.mean === null ? (leftOut || '-') : format(cell.mean))));
    });
    return chart;
  }

  /** Parallel coordinates: one vertical axis per swept setting and the metric, one line per run (best in green). */
  function parallel(data) {
    var names = data.settings.concat([data.metric]);
    var width = Math.max(420, names.length * 150), height = 320, top = 30, bottom = 30, left = 60, right = 60;
    var chart = svg(width, height, 'parallel coordinates of ' + names.join(', '));
    chart.setAttribute('class', 'parallel');
    var columns = names.map(function (_, axis) {
      return data.runs.map(function (run) { return axis < data.settings.length ? run.values[axis] : run.metric; });
    });
    var scales = columns.map(function (values) {
      var numbers = values.filter(function (v) { return typeof v === 'number'; });
      if (numbers.length === values.filter(function (v) { return v !== null; }).length && numbers.length > 0) {
        var distinct = numbers.filter(function (v, i, all) { return all.indexOf(v) === i; });
        var positive = numbers.every(function (v) { return v > 0; });
        var log = positive && Math.max.apply(null, numbers) / Math.min.apply(null, numbers) > 50;
        var f = function (v) { return log ? Math.log10(v) : v; };
        var low = Math.min.apply(null, numbers.map(f)), high = Math.max.apply(null, numbers.map(f));
        return { position: function (v) { return v === null ? null : high > low ? (f(v) - low) / (high - low) : 0.5; },
                 labels: distinct.length <= 8 ? distinct : [Math.min.apply(null, numbers), Math.max.apply(null, numbers)] };
      }
      var categories = values.filter(function (v, i, all) { return v !== null && all.indexOf(v) === i; }).map(String).sort();
      return { position: function (v) { return v === null ? null : categories.length > 1 ? categories.indexOf(String(v)) / (categories.length - 1) : 0.5; },
               labels: categories };
    });
    var step = names.length > 1 ? (width - left - right) / (names.length - 1) : 0;
    function ax(axis) { return left + axis * step; }
    function ay(position) { return top + (1 - position) * (height - top - bottom); }
    var metricValues = columns[columns.length - 1].filter(function (v) { return v !== null; });
    var bestValue = data.goal === 'max' ? Math.max.apply(null, metricValues) : Math.min.apply(null, metricValues);
    var worstValue = data.goal === 'max' ? Math.min.apply(null, metricValues) : Math.max.apply(null, metricValues);
    var opacity = data.runs.length > 300 ? 0.3 : data.runs.length > 50 ? 0.55 : 0.9;
    // Worst first, so the best runs are drawn on top.
    for (var index = data.runs.length - 1; index >= 0; index--) {
      drawRun(data.runs[index], index);
    }
    function drawRun(run, index) {
      var points = [];
      names.forEach(function (_, axis) {
        var position = scales[axis].position(columns[axis][index]);
        if (position !== null) { points.push(ax(axis).toFixed(1) + ',' + ay(position).toFixed(1)); }
      });
      var goodness = worstValue === bestValue ? 1 : (run.metric - worstValue) / (bestValue - worstValue);
      var line = node('polyline', { points: points.join(' '), class: 'pc-line', 'data-run': run.id,
                                    stroke: run.metric === null ? '#9e9e9e' : goodnessColor(goodness), 'stroke-opacity': opacity });
      line.appendChild(node('title', {}, 'run ' + run.id + ': ' + data.metric + ' ' + format(run.metric)));
      chart.appendChild(line);
    }
    names.forEach(function (name, axis) {
      chart.appendChild(node('line', { x1: ax(axis), x2: ax(axis), y1: top, y2: height - bottom, class: 'axis' }));
      chart.appendChild(node('text', { x: ax(axis), y: top - 12, 'text-anchor': 'middle', class: 'pc-axis' }, name));
      scales[axis].labels.forEach(function (label) {
        var position = scales[axis].position(label);
        chart.appendChild(node('text', { x: ax(axis) + 4, y: ay(position) + 4 }, format(label)));
      });
    });
    return chart;
  }

  /** A histogram of /api/runs/ID/histogram: one rect.bar per bin. */
  function histogram(data) {
    var width = 560, height = 260, margin = { left: 50, right: 12, top: 10, bottom: 36 };
    var chart = svg(width, height, 'histogram of layer ' + data.layer + ' ' + data.kind + ' at epoch ' + data.epoch);
    chart.setAttribute('class', 'histogram');
    var highest = Math.max.apply(null, data.bins.map(function (b) { return b.count; }).concat([1]));
    var barWidth = (width - margin.left - margin.right) / data.bins.length;
    var plotHeight = height - margin.top - margin.bottom;
    data.bins.forEach(function (bin, index) {
      var barHeight = bin.count / highest * plotHeight;
      var bar = node('rect', { x: margin.left + index * barWidth + 0.5, y: margin.top + plotHeight - barHeight, width: Math.max(1, barWidth - 1),
                               height: barHeight, class: 'bar' });
      bar.appendChild(node('title', {}, format(bin.low) + ' to ' + format(bin.high) + ': ' + bin.count));
      chart.appendChild(bar);
    });
    ticks(0, highest, 4).forEach(function (t) {
      chart.appendChild(node('text', { x: margin.left - 4, y: margin.top + plotHeight - t / highest * plotHeight + 4, 'text-anchor': 'end' }, format(t)));
    });
    chart.appendChild(node('line', { x1: margin.left, x2: width - margin.right, y1: margin.top + plotHeight, y2: margin.top + plotHeight, class: 'axis' }));
    chart.appendChild(node('text', { x: margin.left, y: height - 20, 'text-anchor': 'start' }, format(data.min)));
    chart.appendChild(node('text', { x: width - margin.right, y: height - 20, 'text-anchor': 'end' }, format(data.max)));
    chart.appendChild(node('text', { x: margin.left + (width - margin.left - margin.right) / 2, y: height - 4, 'text-anchor': 'middle' }, 'value'));
    return chart;
  }

  window.SlopeCharts = { lineChart: lineChart, legend: legend, heatmap: heatmap, parallel: parallel, histogram: histogram, format: format, color: color };
})();
