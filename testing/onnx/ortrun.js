// ortrun.js: the onnxruntime reference runner for runtime/onnx's tests.
//
// Reads a JSON array of cases on stdin:
//   [{"model": "path.onnx", "feeds": {"name": {"type": "float32", "dims": [2, 4], "data": [...]}},
//     "outputs": ["name"]}]   (outputs optional: all when absent)
// and prints one JSON array of results, one object per case: output name to
// {"type", "dims", "data"}, or {"error": "message"}. NaN and infinities are
// written as the strings "NaN", "Infinity", "-Infinity"; int64 as numbers.
//
// With --bench N it instead times each case's run (after warm-up) N times
// and prints {"ns_per_run": [...]} per case.
//
// onnxruntime-node comes from `make tools-onnx` (npm, --ignore-scripts keeps
// the CPU library the package carries).
'use strict';
const path = require('path');
const fs = require('fs');

function loadOrt() {
  const candidates = [
    process.env.ORT_NODE_MODULE,
    path.join(__dirname, '..', '..', '.tools', 'node_modules', 'onnxruntime-node'),
    'onnxruntime-node',
  ].filter(Boolean);
  for (const c of candidates) {
    try {
      return require(c);
    } catch (e) {
      // try the next one
    }
  }
  throw new Error('onnxruntime-node not found (make tools-onnx)');
}

const ort = loadOrt();

const arrays = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
};

function num(v) {
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
  }
  return v;
}

function toTensor(f) {
  let data;
  if (f.type === 'string') {
    data = f.data;
  } else if (f.type === 'int64') {
    data = BigInt64Array.from(f.data.map((v) => BigInt(v)));
  } else if (f.type === 'bool') {
    data = Uint8Array.from(f.data.map((v) => (v ? 1 : 0)));
  } else {
    data = arrays[f.type].from(f.data.map(num));
  }
  return new ort.Tensor(f.type, data, f.dims);
}

function fromTensor(t) {
  let data;
  if (t.type === 'int64') {
    data = Array.from(t.data, (v) => Number(v));
  } else if (t.type === 'string') {
    data = Array.from(t.data);
  } else if (t.type === 'bool') {
    data = Array.from(t.data, (v) => v !== 0);
  } else {
    data = Array.from(t.data, (v) => (Number.isFinite(v) ? v : String(v)));
  }
  return { type: t.type, dims: Array.from(t.dims), data };
}

async function main() {
  const benchAt = process.argv.indexOf('--bench');
  const runs = benchAt >= 0 ? parseInt(process.argv[benchAt + 1], 10) : 0;
  const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
  const results = [];
  const sessions = new Map();
  for (const c of cases) {
    try {
      let s = sessions.get(c.model);
      if (!s) {
        s = await ort.InferenceSession.create(c.model);
        sessions.set(c.model, s);
      }
      const feeds = {};
      for (const [name, f] of Object.entries(c.feeds)) feeds[name] = toTensor(f);
      const fetch = c.outputs && c.outputs.length ? c.outputs : undefined;
      if (runs > 0) {
        for (let i = 0; i < Math.min(runs, 20); i++) await s.run(feeds, fetch);
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t0 = process.hrtime.bigint();
          await s.run(feeds, fetch);
          times.push(Number(process.hrtime.bigint() - t0));
        }
        results.push({ ns_per_run: times });
        continue;
      }
      const out = await s.run(feeds, fetch);
      const r = {};
      for (const [name, t] of Object.entries(out)) r[name] = fromTensor(t);
      results.push(r);
    } catch (e) {
      results.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
