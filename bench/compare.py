"""akidb-snapshot beside its peers: the same vectors snapshotted and restored by each tool.

    bash bench/compare.sh                 # builds, installs, runs, writes target/compare/results.md
    python bench/compare.py --cli target/release/akidb-cli --out target/compare [--repeat 5]

For each data set (random 10k × 512 and 100k × 512, uniform in [-1, 1), fixed seed; the real
10k × 384 MiniLM embeddings of ../shared/data), each tool:

- creates a snapshot from a float32 .npy matrix (generating an id and a time per vector), and
- restores it to a float32 .npy matrix,

each in its own process, with its peak resident set (GNU time's %M: a child of this script
would report this script's own resident set in its ru_maxrss, which Linux carries across exec). akidb-cli is timed
from process start to exit; the Python tools from after the interpreter started and imported
their modules to the end of the operation (they print it), which leaves out up to a few hundred
milliseconds of Python start-up that a user would wait for: the comparison favours the peers.
Every tool's output is on disk when its clock stops: akidb-cli fsyncs what it writes, and
bench/peers.py fsyncs what a peer wrote (and reports how long that took, shown in the table's
preamble).
The tools:

- akidb-cli, Parquet, with each compression, and its legacy JSON format;
- pyarrow writing the same schema (UUID ids, fixed-size float list vectors with
  BYTE_STREAM_SPLIT, UTC millisecond times, no vector statistics, 10,000 rows per row group)
  with the same compressions, and reading it back;
- numpy.save / numpy.load of the matrix: no ids, no checks, the physical floor;
- Lance (pylance), if it is installed.

Every restore is compared with the source matrix bit for bit (outside the timing). The
start-up left out of the Python tools' times is measured on its own and printed.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COLLECTION_ID = "0193a5b0-0000-7000-8000-00000000c0de"
COMPRESSIONS = ["zstd", "snappy", "lz4", "none"]
MINILM = REPO.parent / "shared" / "data" / "minilm-10k-384.npy"


@dataclass
class Run:
    seconds: float  # the operation: the whole process, or what a Python peer reported
    wall_seconds: float  # the whole process, start-up included
    peak_rss_mb: float
    fsync_seconds: float | None = None  # the part of `seconds` a Python peer spent in fsync


@dataclass
class Result:
    data: str
    tool: str
    compression: str
    size_bytes: int = 0
    create: list[Run] = field(default_factory=list)
    restore: list[Run] = field(default_factory=list)

    def median(self, phase: str) -> float:
        return statistics.median(r.seconds for r in getattr(self, phase))

    def peak(self, phase: str) -> float:
        return max(r.peak_rss_mb for r in getattr(self, phase))

    def median_fsync(self, phase: str) -> float:
        return statistics.median(r.fsync_seconds or 0.0 for r in getattr(self, phase))


def measure(argv: list[str]) -> Run:
    """Runs argv to completion: its time, wall time and peak RSS. Fails loudly on a non-zero exit.

    The time is the whole process's, unless the process printed `seconds=…` (bench/peers.py)."""
    # The run before left hundreds of MB of dirty pages; written back during this run, they
    # would be charged to it (seen as 0.3-0.8 s of system time in one run out of a few).
    os.sync()
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr, tempfile.NamedTemporaryFile() as rss:
        start = time.perf_counter()
        code = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv], stdout=stdout, stderr=stderr)
        wall = time.perf_counter() - start
        if code != 0:
            stderr.seek(0)
            raise SystemExit(f"{' '.join(argv)} exited with {code}:\n{stderr.read().decode(errors='replace')}")
        stdout.seek(0)
        reported = dict(
            l.split("=", 1) for l in stdout.read().decode().splitlines() if l.startswith(("seconds=", "fsync_seconds="))
        )
        peak_kb = int(Path(rss.name).read_text().split()[-1])
    seconds = float(reported.get("seconds", wall))
    fsync = reported.get("fsync_seconds")
    return Run(seconds, wall, peak_kb / 1024, float(fsync) if fsync else None)


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- the tools: each returns the command lines of its create and restore, and where the snapshot is


def akidb(cli: Path, work: Path, data: Path, out: Path, compression: str):
    store = work / "store"
    common = [str(cli), "--quiet", "--store", f"file://{store}", "snapshot"]
    options = ["--format", "json"] if compression == "json" else ["--compression", compression]
    create = common + ["create", "--collection-id", COLLECTION_ID, "--input", str(data)] + options
    restore = common + ["restore", "--collection-id", COLLECTION_ID, "--snapshot-id", "latest", "--output", str(out)]

    def snapshot_file() -> Path:
        files = [p for p in store.rglob("*") if p.is_file() and not p.name.endswith(".metadata.json")]
        assert len(files) == 1, files
        return files[0]

    return create, restore, snapshot_file, lambda: shutil.rmtree(store, ignore_errors=True)


def python_tool(name: str):
    def tool(_cli: Path, work: Path, data: Path, out: Path, compression: str):
        target = work / f"snapshot.{name}"
        worker = [sys.executable, str(HERE / "peers.py"), name]
        create = worker + ["create", str(data), str(target), compression]
        restore = worker + ["restore", str(target), str(out), compression]

        def clean():
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)

        return create, restore, lambda: target, clean

    return tool


def tools(with_lance: bool) -> list[tuple[str, str, object]]:
    listed = [("akidb", c, akidb) for c in COMPRESSIONS]
    listed += [("akidb", "json", akidb)]
    listed += [("pyarrow", c, python_tool("pyarrow")) for c in COMPRESSIONS]
    listed += [("numpy.save", "none", python_tool("numpy"))]
    if with_lance:
        listed += [("lance", "default", python_tool("lance"))]
    return listed


def datasets(out: Path, which: list[str]) -> dict[str, Path]:
    found = {}
    for name in which:
        if name == "minilm-10k-384":
            if not MINILM.exists():
                raise SystemExit(f"{MINILM} is missing (the shared embedding set)")
            found[name] = MINILM
            continue
        rows = {"random-10k-512": 10_000, "random-100k-512": 100_000}[name]
        path = out / "data" / f"{name}.npy"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Seeded by the set, so that each set is the same whichever others are asked for.
            rng = np.random.default_rng([20261124, rows])
            np.save(path, rng.uniform(-1, 1, size=(rows, 512)).astype(np.float32))
        found[name] = path
    return found


def run(cli: Path, out: Path, which: list[str], repeat: int, with_lance: bool) -> list[Result]:
    results = []
    for data_name, data in datasets(out, which).items():
        source = np.load(data)
        cells = []
        for tool_name, compression, tool in tools(with_lance):
            work = out / "work" / f"{data_name}-{tool_name}-{compression}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            restored = work / "restored.npy"
            cells.append((Result(data_name, tool_name, compression), work, restored,
                          tool(cli, work, data, restored, compression)))
        # Round by round, every tool once a round: this VM has slow spells of seconds, and
        # a spell then slows one run of each tool rather than every run of one.
        for _ in range(repeat):
            for result, work, restored, (create, restore, snapshot, clean) in cells:
                clean()
                result.create.append(measure(create))
                result.size_bytes = size_of(snapshot())
                restored.unlink(missing_ok=True)
                result.restore.append(measure(restore))
                back = np.load(restored)
                if back.shape != source.shape or not np.array_equal(back.view(np.uint32), source.view(np.uint32)):
                    raise SystemExit(
                        f"{result.tool} {result.compression} on {data_name}: the restored vectors differ"
                    )
        for result, work, _, _ in cells:
            shutil.rmtree(work)
            print(
                f"{data_name:16} {result.tool:10} {result.compression:7} {result.size_bytes / 1e6:9.2f} MB"
                f"  create {result.median('create'):6.3f} s {result.peak('create'):7.1f} MB"
                f"  restore {result.median('restore'):6.3f} s {result.peak('restore'):7.1f} MB",
                flush=True,
            )
            results.append(result)
    return results


def ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}" if base else "—"


def markdown(results: list[Result], repeat: int, imports: dict[str, Run], cli: Path) -> str:
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    memory = next((int(l.split()[1]) / 1024 / 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    lines = [
        f"Produced by `bench/compare.py` on {time.strftime('%Y-%m-%d')} at commit {commit} ({version});",
        f"{os.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB, {platform.platform()}, Python {platform.python_version()}.",
        f"Median of {repeat} runs per cell; peak RSS is the largest of them. Ratios are to pyarrow with the same",
        "compression (to pyarrow zstd for JSON, numpy and Lance), and to numpy.save (the raw floor).",
        "",
        "akidb-cli's times are its whole process; the Python tools' leave out starting Python and importing",
        "their modules, which took (whole process, peak RSS):",
        ", ".join(f"{name} {run.seconds:.3f} s ({run.peak_rss_mb:.0f} MB)" for name, run in imports.items()) + ".",
        "Every time includes making the output durable: akidb-cli fsyncs what it writes before it exits,",
        "and bench/peers.py fsyncs what a peer wrote; each set's pyarrow fsync time is given below it.",
    ]
    for data in dict.fromkeys(r.data for r in results):
        rows = [r for r in results if r.data == data]
        pyarrow = {r.compression: r for r in rows if r.tool == "pyarrow"}
        floor = next(r for r in rows if r.tool == "numpy.save")
        lines += [
            "",
            f"### {data}",
            "",
            "| tool | compression | size MB | size ÷ pyarrow | size ÷ raw | create s | ÷ pyarrow | restore s | ÷ pyarrow | create peak RSS MB | restore peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        fsyncs = [r for r in rows if r.tool == "pyarrow"]
        for r in rows:
            peer = pyarrow.get(r.compression) or pyarrow["zstd"]
            lines.append(
                f"| {r.tool} | {r.compression} | {r.size_bytes / 1e6:.2f} | {ratio(r.size_bytes, peer.size_bytes)} "
                f"| {ratio(r.size_bytes, floor.size_bytes)} | {r.median('create'):.3f} | {ratio(r.median('create'), peer.median('create'))} "
                f"| {r.median('restore'):.3f} | {ratio(r.median('restore'), peer.median('restore'))} "
                f"| {r.peak('create'):.0f} | {r.peak('restore'):.0f} |"
            )
        lines += [
            "",
            "pyarrow's fsync, median, included in its times above: "
            + ", ".join(
                f"{r.compression} {r.median_fsync('create') * 1e3:.0f} ms create, {r.median_fsync('restore') * 1e3:.0f} ms restore"
                for r in fsyncs
            )
            + ".",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", type=Path, required=True, help="the akidb-cli binary (release)")
    parser.add_argument("--out", type=Path, required=True, help="a scratch folder; results.md is written there")
    parser.add_argument("--repeat", type=int, default=5, help="runs per cell (default 5)")
    parser.add_argument(
        "--data",
        default="random-10k-512,random-100k-512,minilm-10k-384",
        help="comma-separated data sets (default: all three)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        import lance  # noqa: F401

        with_lance = True
    except ImportError:
        with_lance = False
        print("Lance is not installed: its rows are left out", file=sys.stderr)
    imports = {
        name: measure([sys.executable, "-c", statement])
        for name, statement in [
            ("pyarrow", "import numpy, pyarrow.parquet"),
            ("numpy", "import numpy"),
        ]
        + ([("lance", "import numpy, pyarrow.parquet, lance")] if with_lance else [])
    }
    results = run(args.cli.resolve(), args.out.resolve(), args.data.split(","), args.repeat, with_lance)
    table = markdown(results, args.repeat, imports, args.cli)
    (args.out / "results.md").write_text(table)
    (args.out / "results.json").write_text(
        json.dumps([r.__dict__ | {"create": [x.__dict__ for x in r.create], "restore": [x.__dict__ for x in r.restore]} for r in results], indent=1)
    )
    print()
    print(table)


if __name__ == "__main__":
    main()
