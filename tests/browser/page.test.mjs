// The inspector page (wasm/www, its module running in a worker) in Debian's headless Chromium,
// driven by playwright-core:
// snapshots made by akidb-cli, by pyarrow and in the legacy JSON format are opened through the
// file picker and what the page shows is checked; damaged files must land in the error panel.
// Run by tests/browser/run.sh, which builds the page and writes the fixtures first.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const fixtures = process.env.AKIDB_BROWSER_FIXTURES;
if (!fixtures) throw new Error("set AKIDB_BROWSER_FIXTURES (tests/browser/run.sh does)");
const artifacts = process.env.AKIDB_BROWSER_ARTIFACTS ?? path.join(fixtures, "artifacts");
const www = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../wasm/www");
const expected = JSON.parse(await readFile(path.join(fixtures, "expected.json"), "utf8"));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
};

let server;
let base;
let browser;
let page;
const problems = [];

/** Serves wasm/www as static files on 127.0.0.1, on a port the system picks. */
function serve() {
  return new Promise((resolve) => {
    const s = http.createServer(async (req, res) => {
      const url = new URL(req.url, "http://localhost");
      const file = path.join(www, url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname));
      if (!file.startsWith(www + path.sep)) {
        res.writeHead(403).end();
        return;
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}

before(async () => {
  await mkdir(artifacts, { recursive: true });
  server = await serve();
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Whatever a snapshot holds, the page must not fail behind the user's back.
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto(base);
  await page.waitForSelector('body[data-state="ready"]', { state: "attached" });
});

after(async () => {
  await browser?.close();
  server?.close();
  assert.deepEqual(problems, [], "errors in the page or its console");
});

/** Opens `file` through the file picker and waits until the page has read it. */
async function open(file, state = "loaded") {
  await page.setInputFiles("#file", file);
  await page.waitForSelector(`body[data-state="${state}"]`, { state: "attached" });
  if (state === "loaded") await page.waitForSelector('body[data-stats="ready"]', { state: "attached" });
}

async function shown(selector) {
  return (await page.textContent(selector)).trim();
}

async function checkSummaryAndStats(format) {
  assert.equal(await page.getAttribute("#vector-count", "data-value"), String(expected.vector_count));
  assert.equal(await shown("#dimension"), String(expected.dimension));
  assert.equal(await shown("#format"), format);
  assert.equal(await page.isVisible("#error"), false);
  // 32 histogram bars, holding every vector (all the sample's values are finite).
  assert.equal(await page.locator("#norm-chart rect").count(), 32);
  assert.equal(await shown("#non-finite"), "Every value is finite.");
  assert.equal(await page.locator("#dim-stats tbody tr").count(), expected.dimension);
  assert.match(await shown("#stats-status"), new RegExp(`^${expected.vector_count} vectors read`));
}

/** Pages are fetched from the worker: each turn waits until the page says it is shown. */
async function turnTo(button, offset) {
  await page.click(button);
  await page.waitForSelector(`body[data-page="${offset}"]`, { state: "attached" });
}

async function checkPaging() {
  assert.equal(await page.locator("#documents tbody tr").count(), 20);
  assert.equal(await shown("#page-info"), `1–20 of ${expected.vector_count}`);
  assert.equal(await page.isDisabled("#prev"), true);
  await turnTo("#next", 20);
  assert.equal(await shown("#page-info"), `21–40 of ${expected.vector_count}`);
  assert.equal(await shown("#documents tbody tr:first-child td:first-child"), "20");
  await turnTo("#prev", 0);
  assert.equal(await shown("#page-info"), `1–20 of ${expected.vector_count}`);
}

/** A wrong digest is refused, the right one accepted (left on screen for the screenshot). */
async function checkVerify(file) {
  await page.fill("#expected-sha256", "0".repeat(64));
  await page.click("#verify");
  await page.waitForSelector('body[data-verified="bad"]', { state: "attached" });
  assert.match(await shown("#verify-result"), /^✗ DataCorruption: /);
  const digest = createHash("sha256").update(await readFile(file)).digest("hex");
  await page.fill("#expected-sha256", digest);
  await page.click("#verify");
  await page.waitForSelector('body[data-verified="ok"]', { state: "attached" });
  assert.match(await shown("#verify-result"), new RegExp(`${digest} matches the expected digest`));
}

test("a snapshot made by akidb-cli", async () => {
  const file = path.join(fixtures, "cli.parquet");
  await open(file);
  await checkSummaryAndStats("Parquet");
  assert.equal(await shown("#compression"), "zstd");
  assert.equal(await shown("#collection-id"), "0193a5b0-0000-7000-8000-000000000001");
  await checkPaging();
  await checkVerify(file);
  await page.screenshot({ path: path.join(artifacts, "cli-snapshot.png"), fullPage: true });
});

test("a snapshot written by pyarrow", async () => {
  const file = path.join(fixtures, "pyarrow.parquet");
  await open(file);
  await checkSummaryAndStats("Parquet");
  assert.equal(await shown("#collection-id"), expected.pyarrow_collection_id);
  assert.match(await shown("#created-by"), /^parquet-cpp-arrow/);
  assert.equal(await page.locator("#row-groups tbody tr").count(), Math.ceil(expected.vector_count / 16));
  await checkPaging();
  await checkVerify(file);
  await page.screenshot({ path: path.join(artifacts, "pyarrow-snapshot.png"), fullPage: true });
});

test("a legacy JSON snapshot", async () => {
  await open(path.join(fixtures, "legacy.json"));
  await checkSummaryAndStats("JSON (legacy)");
  assert.equal(await page.isVisible("#parquet-details"), false);
  await checkPaging();
});

test("damaged files and other files land in the error panel", async () => {
  const good = await readFile(path.join(fixtures, "cli.parquet"));
  const cases = [
    ["truncated.parquet", good.subarray(0, good.length >> 1), "DataCorruption", /Parquet magic/],
    ["picture.png", await readFile(path.join(artifacts, "cli-snapshot.png")), "DataCorruption", /not a snapshot/],
    ["empty.parquet", Buffer.alloc(0), "DataCorruption", /empty/],
    ["not-a-snapshot.json", Buffer.from('{"documents": []}'), "Decoding", /not an akidb snapshot/],
  ];
  for (const [name, bytes, kind, message] of cases) {
    const file = path.join(fixtures, name);
    await writeFile(file, bytes);
    await open(file, "error");
    assert.equal(await page.isVisible("#error"), true, name);
    assert.equal(await page.isVisible("#results"), false, name);
    assert.equal(await shown("#error-kind"), kind, name);
    assert.match(await shown("#error-message"), message, name);
    assert.notEqual(await shown("#error-hint"), "", name);
    if (name === "truncated.parquet") {
      await page.screenshot({ path: path.join(artifacts, "error-panel.png"), fullPage: true });
    }
  }
  // A good file after a bad one clears the panel.
  await open(path.join(fixtures, "cli.parquet"));
  assert.equal(await page.isVisible("#error"), false);
});

test("the module's functions by their JavaScript names", async () => {
  const bytes = Array.from(await readFile(path.join(fixtures, "pyarrow.parquet")));
  const seen = await page.evaluate(async (data) => {
    const m = await import("./pkg/akidb_snapshot_wasm.js");
    await m.default();
    const file = new Uint8Array(data);
    const [doc] = m.readDocuments(file, 3, 1);
    let thrown;
    try {
      m.verify(file.subarray(0, 100));
    } catch (e) {
      thrown = { isError: e instanceof Error, name: e.name, kind: e.kind };
    }
    return {
      count: m.inspect(file).vectorCount,
      position: doc.position,
      vectorType: doc.vector.constructor.name,
      vectorLength: doc.vector.length,
      metadataType: typeof doc.metadata,
      bins: m.vectorStats(file, 7).normHistogram.counts.length,
      checked: m.verify(file).checksumChecked,
      thrown,
    };
  }, bytes);
  assert.deepEqual(seen, {
    count: expected.vector_count,
    position: 3,
    vectorType: "Float32Array",
    vectorLength: expected.dimension,
    metadataType: "object",
    bins: 7,
    checked: false,
    thrown: { isError: true, name: "DataCorruption", kind: "DataCorruption" },
  });
});

test("a snapshot dropped on the page opens", async () => {
  const bytes = Array.from(await readFile(path.join(fixtures, "pyarrow.parquet")));
  const drop = await page.evaluateHandle((data) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(data)], "dropped.parquet"));
    return transfer;
  }, bytes);
  await page.dispatchEvent("#drop", "dragover", { dataTransfer: drop });
  assert.equal(await page.getAttribute("#drop", "class"), "drop over");
  await page.dispatchEvent("#drop", "drop", { dataTransfer: drop });
  await page.waitForSelector('body[data-state="loaded"]', { state: "attached" });
  await page.waitForSelector('body[data-stats="ready"]', { state: "attached" });
  assert.match(await shown("#file-name"), /^dropped\.parquet/);
  assert.equal(await shown("#collection-id"), expected.pyarrow_collection_id);
  assert.equal(await page.getAttribute("#drop", "class"), "drop");
});
