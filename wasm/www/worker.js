// Runs the WebAssembly module off the page's thread, so a large snapshot never freezes the page:
// the page posts {id, op, args} and gets back {id, result} or {id, error}. One snapshot is open
// at a time; requests are answered in the order they were sent.
import init, { Snapshot, version } from "./pkg/akidb_snapshot_wasm.js";

const ready = init();
let snapshot = null;

const ops = {
  version: () => version(),
  open: (buffer) => {
    snapshot?.free();
    snapshot = null;
    snapshot = new Snapshot(new Uint8Array(buffer));
    return snapshot.inspect();
  },
  readDocuments: (offset, limit) => snapshot.readDocuments(offset, limit),
  vectorStats: (bins) => snapshot.vectorStats(bins),
  verify: (expected) => snapshot.verify(expected),
};

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    await ready;
    self.postMessage({ id, result: ops[op](...args) });
  } catch (e) {
    // An Error loses its own properties (`kind`) when posted, so its fields are sent instead.
    self.postMessage({ id, error: { name: e?.name ?? "Error", kind: e?.kind, message: e?.message ?? String(e) } });
  }
};
