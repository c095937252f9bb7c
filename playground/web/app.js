// backprop playground: the page around playground.wasm (backprop compiled to WebAssembly).
// Plain JavaScript, no dependencies, nothing fetched but playground.wasm from beside this file.
// The experiment lives in the URL's query; every control change restarts the run from it.
'use strict';

const $ = (id) => document.getElementById(id);
const RES = 40;            // heatmap resolution (cells per side), every neuron, every frame
const BLUE = [8, 119, 189];
const ORANGE = [245, 147, 34];
const FEATURES = [['x1', 'x₁'], ['x2', 'x₂'], ['x1sq', 'x₁²'], ['x2sq', 'x₂²'], ['x1x2', 'x₁·x₂'], ['sinx1', 'sin x₁'], ['sinx2', 'sin x₂']];
const LRS = ['0.00001', '0.0001', '0.001', '0.003', '0.01', '0.03', '0.1', '0.3', '1', '3', '10'];
const PALETTE = ['#183153', '#d9480f', '#2b8a3e', '#862e9c', '#1971c2', '#e67700', '#c2255c'];

const pageParams = new URLSearchParams(location.search);
const AUTOTEST = pageParams.get('autotest') === '1';
const BENCH = pageParams.get('bench') === '1';
const THRESHOLD = parseFloat(pageParams.get('threshold') || '0.05');
for (const k of ['autotest', 'bench', 'threshold']) pageParams.delete(k);

let w = null;               // the wasm exports
let query = '';             // the experiment's canonical query
let exp = null;             // its fields, as URLSearchParams
let state = null;           // the last pg_state answer
let records = [];           // one record per epoch (the browser's history is window.history)
let heat = null;            // the last heatmaps
let points = null;          // {train, test}
let playing = false;
let backward = null;        // the last pg_backward answer
let picked = null;          // [layer, j, k] of the weight whose chain rule is written out

// ---- Talking to playground.wasm

const enc = new TextEncoder();
const dec = new TextDecoder();

function withBytes(bytes, f) {
  const p = w.pg_alloc(bytes.length);
  new Uint8Array(w.memory.buffer, p, bytes.length).set(bytes);
  try { return f(p, bytes.length); } finally { w.pg_free(p, bytes.length); }
}
const outBytes = () => new Uint8Array(w.memory.buffer, w.pg_out_ptr(), w.pg_out_len()).slice();
const outText = () => dec.decode(outBytes());
const outFloats = () => new Float32Array(w.memory.buffer, w.pg_floats_ptr(), w.pg_floats_len()).slice();

function showError(msg) {
  const e = $('error');
  e.textContent = msg || '';
  e.hidden = !msg;
}

// ---- The experiment and the controls

function restart(q) {
  const rc = withBytes(enc.encode(q), (p, n) => w.pg_create(p, n));
  if (rc !== 0) { showError(outText()); return false; }
  showError('');
  query = outText();
  exp = new URLSearchParams(query);
  window.history.replaceState(null, '', '?' + query);
  records = [];
  backward = null;
  picked = null;
  $('backward').textContent = '';
  $('chain').textContent = '';
  w.pg_points();
  points = JSON.parse(outText());
  syncControls();
  render();
  return true;
}

function syncControls() {
  for (const id of ['dataset', 'points', 'noise', 'train', 'seed', 'activation', 'loss', 'optimizer', 'momentum', 'batch', 'wd', 'l1', 'dropout']) {
    $(id).value = exp.get(id);
  }
  const lr = exp.get('lr');
  if (![...$('lr').options].some((o) => o.value === lr)) $('lr').add(new Option(lr, lr));
  $('lr').value = lr;
  $('bn').checked = exp.get('bn') === '1';
  $('noise-v').textContent = exp.get('noise');
  $('train-v').textContent = exp.get('train');
  const feats = exp.get('features').split(',');
  for (const [name] of FEATURES) $('f-' + name).checked = feats.includes(name);
  const bar = $('neuron-bar');
  bar.textContent = '';
  const layers = exp.get('layers') ? exp.get('layers').split(',') : [];
  layers.forEach((n, i) => {
    const l = document.createElement('label');
    l.textContent = `layer ${i + 1}: `;
    const inp = document.createElement('input');
    Object.assign(inp, { type: 'number', min: 1, max: 8, value: n, className: 'neurons' });
    inp.addEventListener('change', changed);
    l.append(inp);
    bar.append(l);
  });
  $('momentum').disabled = exp.get('optimizer') !== 'sgd';
}

function controlsQuery(extra = {}) {
  const p = new URLSearchParams(query);
  for (const id of ['dataset', 'points', 'noise', 'train', 'seed', 'activation', 'loss', 'optimizer', 'lr', 'momentum', 'batch', 'wd', 'l1', 'dropout']) {
    p.set(id, $(id).value);
  }
  p.set('bn', $('bn').checked ? '1' : '0');
  p.set('features', FEATURES.map(([n]) => n).filter((n) => $('f-' + n).checked).join(','));
  p.set('layers', [...document.querySelectorAll('.neurons')].map((i) => i.value).join(','));
  // Plane is a regression: switching to it picks mse, switching away picks bce.
  if (p.get('dataset') !== exp.get('dataset')) {
    if (p.get('dataset') === 'plane') p.set('loss', 'mse');
    else if (exp.get('dataset') === 'plane') p.set('loss', 'bce');
  }
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString().replace(/%2C/g, ',');
}

function changed() {
  setPlaying(false);
  if (!restart(controlsQuery())) syncControls();
}

function setup() {
  const feats = $('features');
  for (const [name, label] of FEATURES) {
    const l = document.createElement('label');
    const c = document.createElement('input');
    Object.assign(c, { type: 'checkbox', id: 'f-' + name });
    c.addEventListener('change', changed);
    l.append(c, ' ' + label);
    feats.append(l);
  }
  for (const lr of LRS) $('lr').add(new Option(lr, lr));
  for (const id of ['dataset', 'points', 'noise', 'train', 'seed', 'activation', 'loss', 'optimizer', 'lr', 'momentum', 'batch', 'wd', 'l1', 'dropout', 'bn']) {
    $(id).addEventListener('change', changed);
  }
  $('noise').addEventListener('input', () => { $('noise-v').textContent = $('noise').value; });
  $('train').addEventListener('input', () => { $('train-v').textContent = $('train').value; });
  $('layer-add').addEventListener('click', () => {
    const layers = exp.get('layers') ? exp.get('layers').split(',') : [];
    if (layers.length >= 6) return;
    setPlaying(false);
    restart(controlsQuery({ layers: [...layers, '2'].join(',') }));
  });
  $('layer-remove').addEventListener('click', () => {
    const layers = exp.get('layers') ? exp.get('layers').split(',') : [];
    setPlaying(false);
    restart(controlsQuery({ layers: layers.slice(0, -1).join(',') }));
  });
  $('reset').addEventListener('click', () => { setPlaying(false); restart(query); });
  $('play').addEventListener('click', () => setPlaying(!playing));
  $('step').addEventListener('click', () => { setPlaying(false); w.pg_step(1); render(); });
  $('epoch').addEventListener('click', () => { setPlaying(false); w.pg_epoch(); render(); });
  $('show-grad').addEventListener('change', () => drawNetwork());
  $('show-backward').addEventListener('click', () => showBackward(parseInt($('point').value, 10) || 0));
  $('boundary').addEventListener('click', pickPoint);
  $('csv').addEventListener('change', async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    const rc = withBytes(enc.encode(await f.text()), (p, n) => w.pg_upload_csv(p, n));
    if (rc !== 0) { showError(outText()); return; }
    setPlaying(false);
    restart(controlsQuery({ dataset: 'csv', points: outText() }));
  });
  $('dl-toml').addEventListener('click', () => { w.pg_toml(); download('config.toml', outBytes(), 'text/plain'); });
  $('dl-train').addEventListener('click', () => { w.pg_csv(0); download('train.csv', outBytes(), 'text/csv'); });
  $('dl-test').addEventListener('click', () => { w.pg_csv(1); download('test.csv', outBytes(), 'text/csv'); });
  $('dl-model').addEventListener('click', () => {
    if (w.pg_safetensors() !== 0) { showError(outText()); return; }
    download('model.safetensors', outBytes(), 'application/octet-stream');
  });
  $('load-model').addEventListener('change', async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    const rc = withBytes(new Uint8Array(await f.arrayBuffer()), (p, n) => w.pg_load_safetensors(p, n));
    showError(rc !== 0 ? outText() : '');
    render();
  });
}

function download(name, bytes, type) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---- Running

function setPlaying(on) {
  playing = on;
  $('play').textContent = on ? '❚❚ pause' : '▶ play';
  if (on) requestAnimationFrame(loop);
}

function loop() {
  if (!playing) return;
  frame();
  requestAnimationFrame(loop);
}

// One frame: one epoch, then everything redrawn.
function frame() {
  w.pg_epoch();
  render();
}

function render() {
  w.pg_state(records.length);
  state = JSON.parse(outText());
  records.push(...state.history);
  w.pg_heatmaps(RES);
  heat = outFloats();
  $('n-epoch').textContent = state.epoch;
  $('n-step').textContent = state.steps;
  $('train-loss').textContent = fmt(state.train_loss);
  $('test-loss').textContent = fmt(state.test_loss);
  drawNetwork();
  drawBoundary();
  drawLoss();
  drawGradNorms();
  drawGradHist();
  drawDiagnostics();
  if (backward) showBackward(backward.index);
}

const fmt = (v) => (v === null || v === undefined ? 'NaN' : Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2));

// ---- Pictures

function colour(t) {
  const c = t >= 0 ? BLUE : ORANGE;
  const a = Math.min(1, Math.abs(t));
  return [0, 1, 2].map((i) => Math.round(255 + (c[i] - 255) * a));
}
const css = (rgb, alpha = 1) => `rgba(${rgb[0]},${rgb[1]},${rgb[2]},${alpha})`;

// Neuron `n`'s map (in the order of pg_heatmaps) as an image `RES` cells wide.
const scratch = document.createElement('canvas');
scratch.width = scratch.height = RES;
const scratchCtx = scratch.getContext('2d');
const scratchImg = scratchCtx.createImageData(RES, RES);

function neuronImage(n, isOutput) {
  const cells = RES * RES;
  const vals = heat.subarray(n * cells, (n + 1) * cells);
  let scale = 1;
  if (!isOutput) {
    scale = 0;
    for (const v of vals) scale = Math.max(scale, Math.abs(v));
    scale = scale || 1;
  }
  const d = scratchImg.data;
  for (let i = 0; i < cells; i++) {
    const v = vals[i];
    const t = isOutput ? (state.regression ? Math.max(-1, Math.min(1, v)) : 2 * v - 1) : v / scale;
    const rgb = colour(t);
    d[4 * i] = rgb[0]; d[4 * i + 1] = rgb[1]; d[4 * i + 2] = rgb[2]; d[4 * i + 3] = 255;
  }
  scratchCtx.putImageData(scratchImg, 0, 0);
  return scratch;
}

function columns() {
  const sizes = [state.layers[0].in, ...state.layers.map((l) => l.out)];
  const c = $('net');
  const S = 36;
  const xs = sizes.map((_, i) => 30 + (i * (c.width - 60 - S)) / Math.max(1, sizes.length - 1));
  return sizes.map((n, i) => Array.from({ length: n }, (_, j) => ({
    x: xs[i], y: c.height / 2 + (j - (n - 1) / 2) * (S + 12) - S / 2, s: S,
  })));
}

function drawNetwork() {
  if (!state) return;
  const c = $('net');
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const cols = columns();
  const showGrad = $('show-grad').checked;
  let maxAbs = 1e-12;
  for (const l of state.layers) for (const v of showGrad ? l.grad_weight : l.weight) maxAbs = Math.max(maxAbs, Math.abs(v ?? 0));
  state.layers.forEach((l, li) => {
    const vals = showGrad ? l.grad_weight : l.weight;
    for (let j = 0; j < l.out; j++) {
      for (let k = 0; k < l.in; k++) {
        const v = vals[j * l.in + k] ?? 0;
        const a = cols[li][k];
        const b = cols[li + 1][j];
        g.strokeStyle = css(v >= 0 ? BLUE : ORANGE, 0.85);
        g.lineWidth = 0.5 + (5 * Math.abs(v)) / (showGrad ? maxAbs : Math.max(1, maxAbs));
        g.beginPath();
        g.moveTo(a.x + a.s, a.y + a.s / 2);
        g.lineTo(b.x, b.y + b.s / 2);
        g.stroke();
      }
    }
  });
  g.imageSmoothingEnabled = false;
  const dead = new Set((state.dead || []).map(([l, j]) => `${l + 1}:${j}`));
  const feats = exp.get('features').split(',');
  let n = 0;
  cols.forEach((col, ci) => col.forEach((p, j) => {
    const isOutput = ci === cols.length - 1;
    g.drawImage(neuronImage(n++, isOutput), p.x, p.y, p.s, p.s);
    g.strokeStyle = dead.has(`${ci}:${j}`) ? '#d00' : '#333';
    g.lineWidth = dead.has(`${ci}:${j}`) ? 3 : 1;
    g.strokeRect(p.x, p.y, p.s, p.s);
    if (ci === 0) {
      g.fillStyle = '#333';
      g.font = '11px sans-serif';
      g.fillText(FEATURES.find(([f]) => f === feats[j])[1], p.x - 28, p.y + p.s / 2 + 4);
    }
  }));
}

const toPx = (v, size) => ((v + 6) / 12) * size;

function drawBoundary() {
  const c = $('boundary');
  const g = c.getContext('2d');
  const nOut = heat.length / (RES * RES) - 1;
  g.imageSmoothingEnabled = true;
  g.drawImage(neuronImage(nOut, true), 0, 0, c.width, c.height);
  const dot = (p, filled) => {
    const x = toPx(p[0], c.width);
    const y = c.height - toPx(p[1], c.height);
    const t = state.regression ? Math.max(-1, Math.min(1, p[2])) : 2 * p[2] - 1;
    g.beginPath();
    g.arc(x, y, 3.2, 0, 2 * Math.PI);
    g.fillStyle = css(colour(t * 1.0).map((v) => v * 0.85));
    g.fill();
    g.lineWidth = filled ? 0.6 : 1.6;
    g.strokeStyle = filled ? '#fff' : '#000';
    g.stroke();
  };
  points.train.forEach((p) => dot(p, true));
  points.test.forEach((p) => dot(p, false));
  if (backward) {
    const p = points.train[backward.index];
    g.strokeStyle = '#000';
    g.lineWidth = 2;
    g.strokeRect(toPx(p[0], c.width) - 7, c.height - toPx(p[1], c.height) - 7, 14, 14);
  }
}

function lineChart(canvas, series, log) {
  const g = canvas.getContext('2d');
  const W = canvas.width, H = canvas.height, P = 22;
  g.clearRect(0, 0, W, H);
  const tr = (v) => (log ? Math.log10(Math.max(v, 1e-12)) : v);
  let lo = Infinity, hi = -Infinity, n = 0;
  for (const s of series) for (const v of s.values) {
    if (v === null || !isFinite(v)) continue;
    lo = Math.min(lo, tr(v)); hi = Math.max(hi, tr(v)); n = Math.max(n, s.values.length);
  }
  if (!isFinite(lo)) return;
  if (!log) lo = Math.min(lo, 0);
  if (hi - lo < 1e-9) hi = lo + 1;
  g.strokeStyle = '#999';
  g.strokeRect(P, 2, W - P - 2, H - P);
  g.fillStyle = '#555';
  g.font = '10px sans-serif';
  g.fillText(log ? '1e' + hi.toFixed(0) : hi.toPrecision(2), 0, 10);
  g.fillText(log ? '1e' + lo.toFixed(0) : lo.toPrecision(2), 0, H - P);
  g.fillText(`epoch ${n}`, W - 60, H - 6);
  for (const s of series) {
    g.strokeStyle = s.colour;
    g.setLineDash(s.dash || []);
    g.lineWidth = 1.5;
    g.beginPath();
    s.values.forEach((v, i) => {
      if (v === null) return;
      const x = P + (i / Math.max(1, n - 1)) * (W - P - 4);
      const y = 2 + (H - P - 4) * (1 - (tr(v) - lo) / (hi - lo));
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }
  g.setLineDash([]);
}

function drawLoss() {
  lineChart($('loss-chart'), [
    { values: records.map((r) => r.train), colour: '#183153' },
    { values: records.map((r) => r.test), colour: '#888', dash: [4, 3] },
  ], false);
}

function drawGradNorms() {
  const layers = state.layers.length;
  lineChart($('grad-chart'), Array.from({ length: layers }, (_, l) => ({
    values: records.map((r) => r.grad_norms[l]), colour: PALETTE[l % PALETTE.length],
  })), true);
}

function drawGradHist() {
  const c = $('grad-hist');
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const L = state.layers.length, bins = 15, bw = c.width / L;
  state.layers.forEach((l, li) => {
    const vals = l.grad_weight.filter((v) => v !== null);
    const m = Math.max(1e-12, ...vals.map(Math.abs));
    const counts = new Array(bins).fill(0);
    for (const v of vals) counts[Math.min(bins - 1, Math.floor(((v / m + 1) / 2) * bins))]++;
    const top = Math.max(1, ...counts);
    g.fillStyle = PALETTE[li % PALETTE.length];
    counts.forEach((k, b) => {
      const h = ((c.height - 14) * k) / top;
      g.fillRect(li * bw + 4 + (b * (bw - 8)) / bins, c.height - 12 - h, (bw - 8) / bins - 1, h);
    });
    g.fillStyle = '#555';
    g.font = '10px sans-serif';
    g.fillText(`layers.${li} ±${m.toExponential(0)}`, li * bw + 4, c.height - 2);
  });
}

function drawDiagnostics() {
  const ul = $('diagnostics');
  ul.textContent = '';
  const add = (text, cls) => {
    const li = document.createElement('li');
    li.textContent = text;
    li.className = cls;
    ul.append(li);
  };
  if (state.train_loss === null) add('The loss is not a number: the weights diverged. Lower the learning rate and reset.', 'problem');
  for (const [l, j] of state.dead || []) {
    add(`Hidden layer ${l + 1}, neuron ${j + 1} gives the same output on every training point (a dead unit): no gradient reaches its weights.`, 'problem');
  }
  const r = state.gradient_ratio;
  if (r !== null && r !== undefined) {
    if (r < 1 / 100) add(`Vanishing gradients: the first layer's weight gradient is ${(1 / r).toFixed(0)}× smaller than the last layer's.`, 'problem');
    else if (r > 100) add(`Exploding gradients: the first layer's weight gradient is ${r.toFixed(0)}× larger than the last layer's.`, 'problem');
    else add(`Gradients reach every layer (first/last norm ratio ${r.toPrecision(2)}).`, 'ok');
  }
  if (!ul.children.length) add('Train an epoch to see the diagnostics.', 'ok');
}

// ---- The backward pass of one point

function pickPoint(ev) {
  const c = $('boundary');
  const rect = c.getBoundingClientRect();
  const x = ((ev.clientX - rect.left) * c.width) / rect.width;
  const y = ((ev.clientY - rect.top) * c.height) / rect.height;
  let best = -1, bestD = 100;
  points.train.forEach((p, i) => {
    const d = (toPx(p[0], c.width) - x) ** 2 + (c.height - toPx(p[1], c.height) - y) ** 2;
    if (d < bestD) { best = i; bestD = d; }
  });
  if (best >= 0) { $('point').value = best; showBackward(best); }
}

function showBackward(index) {
  if (w.pg_backward(index) !== 0) { showError(outText()); return; }
  backward = JSON.parse(outText());
  const root = $('backward');
  root.textContent = '';
  const head = document.createElement('p');
  head.textContent = `Point ${index}: inputs (${backward.input.map(fmt).join(', ')}), target ${fmt(backward.target)}, loss of this point ${fmt(backward.loss)} (eval mode). ` +
    `Hand-computed and autograd gradients differ by at most ${backward.max_abs_diff.toExponential(2)}.`;
  root.append(head);
  backward.layers.forEach((l, li) => {
    const box = document.createElement('div');
    box.className = 'layer-box';
    const title = document.createElement('h3');
    title.textContent = li === backward.layers.length - 1 ? `layers output (Linear ${li})` : `hidden layer ${li + 1} (Linear ${li})`;
    box.append(title);
    const t = document.createElement('table');
    t.innerHTML = '<tr><th>neuron</th><th>z</th><th>a</th><th>∂L/∂a</th><th>∂a/∂z</th><th>∂L/∂z = ∂L/∂b</th></tr>';
    l.z.forEach((_, j) => {
      const tr = t.insertRow();
      tr.insertCell().textContent = j + 1;
      for (const v of [l.z[j], l.a[j], l.da[j], l.dadz[j], l.dz[j]]) tr.insertCell().textContent = fmt(v);
    });
    box.append(t);
    const nIn = l.dw.length / l.z.length;
    const wt = document.createElement('table');
    wt.innerHTML = '<tr><th>∂L/∂w</th>' + Array.from({ length: nIn }, (_, k) => `<th>in ${k + 1}</th>`).join('') + '</tr>';
    l.z.forEach((_, j) => {
      const tr = wt.insertRow();
      tr.insertCell().textContent = `neuron ${j + 1}`;
      for (let k = 0; k < nIn; k++) {
        const td = tr.insertCell();
        td.className = 'w';
        td.textContent = fmt(l.dw[j * nIn + k]);
        td.dataset.layer = li; td.dataset.j = j; td.dataset.k = k;
        if (picked && picked[0] === li && picked[1] === j && picked[2] === k) td.classList.add('picked');
        td.addEventListener('click', () => { picked = [li, j, k]; showBackward(backward.index); });
      }
    });
    box.append(wt);
    root.append(box);
  });
  writeChain();
  drawBoundary();
}

// The chain rule for the picked weight, written out with its numbers.
function writeChain() {
  const c = $('chain');
  c.textContent = '';
  if (!picked) { c.textContent = 'Click a ∂L/∂w cell to see its chain-rule product.'; return; }
  const [li, j, k] = picked;
  const L = backward.layers;
  const l = L[li];
  const nIn = l.dw.length / l.z.length;
  const aPrev = li === 0 ? backward.input[k] : L[li - 1].a[k];
  const hand = l.dw[j * nIn + k];
  const auto = l.autograd_dw[j * nIn + k];
  const lines = [];
  // A factor in a product: negative numbers in parentheses.
  const f = (v) => (v < 0 ? `(${fmt(v)})` : fmt(v));
  const name = `layers.${linearIndex(li)}.weight[${j}][${k}]`;
  lines.push(`∂L/∂${name} = ∂L/∂a${j + 1} · ∂a${j + 1}/∂z${j + 1} · a_prev${k + 1}`);
  lines.push(`   = ${f(l.da[j])} · ${f(l.dadz[j])} · ${f(aPrev)} = ${fmt(hand)}`);
  if (li + 1 < L.length) {
    const nx = L[li + 1];
    const nxIn = nx.dw.length / nx.z.length;
    const w = state.layers[li + 1].weight;
    const terms = nx.z.map((_, m) => `${f(w[m * nxIn + j])}·${f(nx.dz[m])}`);
    lines.push(`where ∂L/∂a${j + 1} = Σₘ w[m][${j}] · ∂L/∂z'ₘ = ${terms.join(' + ')} = ${fmt(l.da[j])}`);
  } else {
    lines.push(`where ∂L/∂a${j + 1} = ∂L/∂output = ${fmt(l.da[j])} (${exp.get('loss') === 'bce' ? 'σ(z) − y' : exp.get('loss') === 'mse' ? '2(z − y)' : 'sign(z − y)'})`);
  }
  lines.push(`autograd (loss.backward()): ${fmt(auto)}   |hand − autograd| = ${Math.abs(hand - auto).toExponential(2)}`);
  c.innerHTML = '';
  for (const s of lines) { const d = document.createElement('div'); d.textContent = s; c.append(d); }
  c.dataset.hand = hand;
  c.dataset.autograd = auto;
  c.dataset.name = name;
}

// The position of Linear `li` in the model's `layers` (PyTorch's names).
function linearIndex(li) {
  const per = 2 + (exp.get('bn') === '1' ? 1 : 0) + (parseFloat(exp.get('dropout')) > 0 ? 1 : 0);
  return li * per;
}

// ---- Automatic runs for the tests and the benchmark

function b64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function autotest() {
  const t0 = performance.now();
  $('play').click();
  let frames = 0;
  while (playing) {
    frame();
    frames++;
    if (state.train_loss !== null && state.train_loss < THRESHOLD) $('play').click();
    else if (state.epoch >= 3000) $('play').click();
  }
  const ms = performance.now() - t0;
  $('point').value = 0;
  $('show-backward').click();
  document.querySelector('td.w').click();
  const chain = $('chain').dataset;
  w.pg_toml(); const toml = outText();
  w.pg_csv(1); const testCsv = outText();
  w.pg_safetensors(); const model = b64(outBytes());
  w.pg_outputs(1); const outputs = Array.from(outFloats());
  report({
    done: true, query, epoch: state.epoch, steps: state.steps, frames, ms,
    train_loss: state.train_loss, test_loss: state.test_loss,
    point: 0, weight: chain.name, hand: parseFloat(chain.hand), autograd: parseFloat(chain.autograd),
    max_abs_diff: backward.max_abs_diff, toml, test_csv: testCsv, safetensors_b64: model, test_outputs: outputs,
  });
}

// Frames per second with one epoch per frame and every neuron's heatmap redrawn, and training
// steps per second without drawing.
function bench() {
  const frames = 200;
  let t = performance.now();
  for (let i = 0; i < frames; i++) frame();
  const frameMs = (performance.now() - t) / frames;
  restart(query);
  const steps = 20000;
  t = performance.now();
  w.pg_step(steps);
  const stepMs = (performance.now() - t) / steps;
  report({ done: true, query, frames, fps: 1000 / frameMs, frame_ms: frameMs, steps_per_s: 1000 / stepMs, batches_per_epoch: state.batches_per_epoch });
}

function report(obj) {
  const pre = $('autotest');
  pre.textContent = JSON.stringify(obj);
  pre.hidden = false;
  // Also to the console: a browser run without virtual time (the benchmark) reads it there.
  console.log('playground-report ' + pre.textContent);
}

async function main() {
  setup();
  try {
    const bytes = await (await fetch('playground.wasm')).arrayBuffer();
    const { instance } = await WebAssembly.instantiate(bytes, {});
    w = instance.exports;
  } catch (e) {
    showError(`playground.wasm could not be loaded (${e}); serve the page with \`backprop playground\``);
    report({ done: false, error: String(e) });
    return;
  }
  if (!restart(pageParams.toString())) restart('');
  if (AUTOTEST) autotest();
  else if (BENCH) bench();
}

main();
