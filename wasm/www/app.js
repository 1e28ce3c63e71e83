// The inspector page: reads a dropped or chosen snapshot with the WebAssembly module (in
// worker.js, off this thread) and shows what it holds. Everything the page knows about snapshots
// comes from the module; this file only lays out its answers.

const PAGE_SIZE = 20;
const VECTOR_PREVIEW = 6;
const SVG = "http://www.w3.org/2000/svg";

// What a person can do about each kind of error the module throws.
const HINTS = {
  DataCorruption:
    "The bytes are damaged or are not a snapshot: check that the whole file was downloaded, or take it from another copy.",
  Decoding:
    "This is a readable file, but not an akidb snapshot: its columns or footer keys are not a snapshot's.",
  UnsupportedSchemaVersion:
    "A newer akidb-snapshot wrote this file: open it with a newer build of this page.",
  LimitExceeded: "The file declares more than this page reads at most.",
  Validation: "The request was not valid.",
};

const $ = (id) => document.getElementById(id);
// `file` counts the files opened, so that answers about an earlier one are dropped.
const state = { file: 0, info: null, offset: 0 };

const worker = new Worker(new URL("worker.js", import.meta.url), { type: "module" });
const pending = new Map();
let nextId = 0;

/** Calls `op` of the module in the worker; rejects with an object shaped like its Error. */
function call(op, args = [], transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, args }, transfer);
  });
}

worker.onmessage = ({ data: { id, result, error } }) => {
  const { resolve, reject } = pending.get(id);
  pending.delete(id);
  if (error) reject(error);
  else resolve(result);
};
worker.onerror = (e) => showError({ name: "Error", message: `the WebAssembly worker failed: ${e.message}` });

function setState(name) {
  document.body.dataset.state = name;
}

function text(id, value) {
  $(id).textContent = value ?? "—";
}

function bytes(n) {
  if (n == null) return "—";
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]} (${n.toLocaleString("en")} bytes)`;
}

// Significant digits, not decimals: unit-normalised embeddings have norms like 0.99999994.
function number(x, digits = 5) {
  return Number.isFinite(x) ? String(Number(x.toPrecision(digits))) : String(x);
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = cell;
    tr.append(td);
  }
  return tr;
}

function showError(error) {
  const kind = error?.kind ?? error?.name ?? "Error";
  text("error-kind", kind);
  text("error-message", error?.message ?? String(error));
  text("error-hint", HINTS[kind] ?? "");
  $("error").hidden = false;
  $("results").hidden = true;
  setState("error");
}

async function open(file) {
  const current = ++state.file;
  setState("loading");
  delete document.body.dataset.stats;
  delete document.body.dataset.verified;
  text("file-name", `${file.name} (${bytes(file.size)})`);
  $("error").hidden = true;
  try {
    const buffer = await file.arrayBuffer();
    const info = await call("open", [buffer], [buffer]);
    if (current !== state.file) return;
    state.info = info;
  } catch (error) {
    if (current === state.file) showError(error);
    return;
  }
  showSummary(state.info);
  text("verify-result", "");
  $("results").hidden = false;
  state.offset = 0;
  await showPage();
  setState("loaded");
  await showStats(current);
}

function showSummary(info) {
  text("vector-count", info.vectorCount.toLocaleString("en"));
  $("vector-count").dataset.value = info.vectorCount;
  text("dimension", info.dimension);
  text("format", info.format === "parquet" ? "Parquet" : "JSON (legacy)");
  text("compression", info.compression ?? (info.format === "json" ? "none (JSON)" : "unknown"));
  text("file-bytes", bytes(info.fileBytes));
  text(
    "created-at",
    info.createdAt ??
      (info.createdAtMillis == null ? null : `${info.createdAtMillis} ms since 1970`),
  );
  text("collection-id", info.collectionId);
  text("snapshot-id", info.snapshotId);
  text("schema-version", info.schemaVersion);
  text("created-by", info.createdBy);

  $("parquet-details").hidden = info.format !== "parquet";
  const groups = $("row-groups").tBodies[0];
  groups.replaceChildren(
    ...info.rowGroups.map((g, i) =>
      row([i, g.rows.toLocaleString("en"), `${g.byteStart}–${g.byteEnd}`, bytes(g.compressedBytes), bytes(g.uncompressedBytes)]),
    ),
  );
  const keys = $("footer-keys").tBodies[0];
  keys.replaceChildren(...Object.entries(info.footer ?? {}).map(([k, v]) => row([k, v])));
}

async function showPage() {
  const current = state.file;
  const total = state.info.vectorCount;
  let docs;
  try {
    docs = await call("readDocuments", [state.offset, PAGE_SIZE]);
  } catch (error) {
    if (current === state.file) showError(error);
    return;
  }
  if (current !== state.file) return;
  const body = $("documents").tBodies[0];
  body.replaceChildren(
    ...docs.map((d) => {
      const shown = Array.from(d.vector.subarray(0, VECTOR_PREVIEW), (x) => number(x));
      const more = d.vector.length > VECTOR_PREVIEW ? `, … ${d.vector.length - VECTOR_PREVIEW} more` : "";
      return row([
        d.position,
        d.documentId,
        d.externalId ?? "—",
        d.insertedAt ?? `${d.insertedAtMillis} ms`,
        d.metadata == null ? "—" : JSON.stringify(d.metadata),
        `[${shown.join(", ")}${more}]`,
      ]);
    }),
  );
  const last = Math.min(state.offset + docs.length, total);
  text("page-info", total === 0 ? "no documents" : `${state.offset + 1}–${last} of ${total.toLocaleString("en")}`);
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= total;
  document.body.dataset.page = state.offset;
}

async function showStats(current) {
  text("stats-status", "Reading every vector…");
  let stats;
  try {
    stats = await call("vectorStats", [32]);
  } catch (error) {
    if (current !== state.file) return;
    text("stats-status", "");
    showError(error);
    return;
  }
  if (current !== state.file) return;
  text("stats-status", `${stats.vectors.toLocaleString("en")} vectors read.`);
  const h = stats.normHistogram;
  text("norm-range", Number.isFinite(h.min) ? `from ${number(h.min, 8)} to ${number(h.max, 8)}` : "(no finite vectors)");
  drawHistogram($("norm-chart"), h.counts);
  drawDimensions($("dim-chart"), stats.means, stats.stdDevs);
  text(
    "non-finite",
    stats.nonFiniteValues === 0
      ? "Every value is finite."
      : `${stats.nonFiniteValues.toLocaleString("en")} NaN or infinite values, in ${stats.vectorsWithNonFinite.toLocaleString("en")} vectors (left out of the norms).`,
  );
  $("dim-stats").tBodies[0].replaceChildren(
    ...stats.means.map((m, d) => row([d, number(m, 7), number(stats.stdDevs[d], 7)])),
  );
  document.body.dataset.stats = "ready";
}

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  return element;
}

function drawHistogram(svg, counts) {
  const width = 400;
  const height = 160;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const peak = Math.max(1, ...counts);
  const bar = width / counts.length;
  svg.replaceChildren(
    ...counts.map((c, i) => {
      const h = (c / peak) * (height - 4);
      const rect = svgElement("rect", { x: i * bar + 1, y: height - h, width: Math.max(bar - 2, 1), height: h, class: "bar" });
      rect.append(svgElement("title", {}));
      rect.firstChild.textContent = `${c} vectors`;
      return rect;
    }),
  );
}

function drawDimensions(svg, means, stdDevs) {
  const width = 400;
  const height = 160;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const finite = means.map((m, d) => [m, stdDevs[d]]).filter(([m]) => Number.isFinite(m));
  if (finite.length === 0) {
    svg.replaceChildren();
    return;
  }
  const lo = Math.min(...finite.map(([m, s]) => m - s));
  const hi = Math.max(...finite.map(([m, s]) => m + s));
  const y = (v) => height - 2 - ((v - lo) / (hi - lo || 1)) * (height - 4);
  const x = (d) => (means.length === 1 ? width / 2 : (d / (means.length - 1)) * width);
  const points = (f) =>
    means.flatMap((m, d) => (Number.isFinite(m) ? [`${x(d).toFixed(1)},${y(f(m, stdDevs[d])).toFixed(1)}`] : []));
  const upper = points((m, s) => m + s);
  const lower = points((m, s) => m - s).reverse();
  svg.replaceChildren(
    svgElement("polygon", { points: [...upper, ...lower].join(" "), class: "band" }),
    svgElement("line", { x1: 0, x2: width, y1: y(0), y2: y(0), class: "axis" }),
    svgElement("polyline", { points: points((m) => m).join(" "), class: "line" }),
  );
}

async function verify(event) {
  event.preventDefault();
  const current = state.file;
  const expected = $("expected-sha256").value.trim();
  const result = $("verify-result");
  result.className = "";
  result.textContent = "Checking every row group…";
  delete document.body.dataset.verified;
  try {
    const checked = await call("verify", [expected === "" ? undefined : expected]);
    if (current !== state.file) return;
    result.className = "ok";
    result.textContent =
      `✓ Every row group decodes (${checked.vectorCount.toLocaleString("en")} documents). SHA-256 ${checked.sha256}` +
      (checked.checksumChecked ? " matches the expected digest." : ".");
  } catch (error) {
    if (current !== state.file) return;
    result.className = "bad";
    result.textContent = `✗ ${error.kind ?? error.name}: ${error.message}`;
  }
  document.body.dataset.verified = result.className;
}

function wire() {
  $("file").addEventListener("change", (e) => {
    const [file] = e.target.files;
    if (file) open(file);
  });
  const drop = $("drop");
  for (const name of ["dragenter", "dragover"]) {
    document.addEventListener(name, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  document.addEventListener("dragleave", () => drop.classList.remove("over"));
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const [file] = e.dataTransfer.files;
    if (file) open(file);
  });
  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    showPage();
  });
  $("next").addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    showPage();
  });
  $("verify-form").addEventListener("submit", verify);
}

try {
  text("version", await call("version"));
  wire();
  setState("ready");
} catch (error) {
  showError(error);
}
