// Times the browser module's functions in Node on one snapshot file, the way the page calls them.
//
//   bash wasm/build.sh && node wasm/bench.mjs SNAPSHOT_FILE [RUNS]
//
// Prints the median of RUNS (default 10) wall-clock runs per call, in milliseconds. Node runs the
// same V8 as Chromium, so the figures are those of the page less its drawing.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const pkg = new URL("./www/pkg/", import.meta.url);
const m = await import(new URL("akidb_snapshot_wasm.js", pkg));
m.initSync({ module: readFileSync(fileURLToPath(new URL("akidb_snapshot_wasm_bg.wasm", pkg))) });

const [file, runsArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: node wasm/bench.mjs SNAPSHOT_FILE [RUNS]");
  process.exit(2);
}
const bytes = new Uint8Array(readFileSync(file));
const runs = Number(runsArg ?? 10);

function median(f) {
  const times = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    f();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const snapshot = new m.Snapshot(bytes);
const info = snapshot.inspect();
const cases = {
  "new Snapshot(bytes) (copy in, footer)": () => new m.Snapshot(bytes).free(),
  "inspect()": () => snapshot.inspect(),
  "readDocuments(middle, 20)": () => snapshot.readDocuments(Math.floor(info.vectorCount / 2), 20),
  "vectorStats(32)": () => snapshot.vectorStats(32),
  "verify() (SHA-256 and every row group)": () => snapshot.verify(),
};
console.log(`${file}: ${info.format}, ${info.vectorCount} × ${info.dimension}, ${bytes.length} bytes, ${info.compression ?? "-"}, median of ${runs}`);
for (const [name, f] of Object.entries(cases)) {
  console.log(`${name.padEnd(42)} ${median(f).toFixed(1).padStart(8)} ms`);
}
