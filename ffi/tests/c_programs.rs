//! The C tests of tests/c/: each compiled with gcc (C11, `-Wall -Wextra -Werror`) against the
//! committed header and the built library, then run three ways: as is, under valgrind
//! (memcheck; any error or definite leak fails), and built with AddressSanitizer (and its leak
//! checker) and UBSan.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder holding the library cargo built for this test: `target/debug/deps`, beside the
/// test itself (cargo copies it up to `target/debug` only when it is built on its own).
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent().expect("target/debug/deps").to_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compile(name: &str, sanitize: bool) -> PathBuf {
    compile_file(&repo().join(format!("tests/c/{name}.c")), name, sanitize)
}

fn compile_file(source: &Path, name: &str, sanitize: bool) -> PathBuf {
    let lib_dir = build_dir();
    assert!(
        lib_dir.join("libakidb_snapshot.so").exists(),
        "libakidb_snapshot.so is not in {}",
        lib_dir.display()
    );
    let out = lib_dir.join(format!("c-{name}{}", if sanitize { "-asan" } else { "" }));
    let mut gcc = Command::new("gcc");
    gcc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-g"]);
    if sanitize {
        gcc.args(["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]);
    }
    let status = gcc
        .arg("-I")
        .arg(repo().join("include"))
        .arg(source)
        .arg("-o")
        .arg(&out)
        .arg("-L")
        .arg(&lib_dir)
        .arg("-lakidb_snapshot")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lm")
        .status()
        .expect("run gcc");
    assert!(
        status.success(),
        "{} does not compile cleanly",
        source.display()
    );
    out
}

/// What a C test is given as its one argument.
#[derive(Clone, Copy)]
enum Argument {
    Nothing,
    /// A fresh, empty folder for its store.
    StoreFolder,
    /// The files other tools wrote in the snapshot schema.
    ForeignFiles,
}

/// Runs `program` with its argument, optionally under valgrind; returns what it printed.
fn run(name: &str, program: &Path, argument: Argument, valgrind: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut command = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--quiet",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    };
    match argument {
        Argument::Nothing => {}
        Argument::StoreFolder => {
            command.arg(dir.path());
        }
        Argument::ForeignFiles => {
            command.arg(repo().join("codec/tests/data/foreign"));
        }
    }
    // The library beside the test, whatever cargo put on LD_LIBRARY_PATH: it lists
    // target/debug too, whose libakidb_snapshot.so is from whichever build made it last, and
    // LD_LIBRARY_PATH outranks the program's RUNPATH.
    let out = command
        .env("LD_LIBRARY_PATH", build_dir())
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (valgrind comes from scripts/test.sh)",
                program.display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed, 0 failed"),
        "{name} (valgrind: {valgrind}) failed with {:?}:\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.into_owned()
}

/// Compiles and runs test `name` the three ways; returns what the plain run printed.
fn c_test(name: &str, argument: Argument) -> String {
    let plain = compile(name, false);
    let printed = run(name, &plain, argument, false);
    run(name, &plain, argument, true);
    let sanitized = compile(name, true);
    run(name, &sanitized, argument, false);
    printed
}

#[test]
fn codec_roundtrip() {
    c_test("codec_roundtrip", Argument::Nothing);
}

#[test]
fn arrow_roundtrip() {
    c_test("arrow_roundtrip", Argument::Nothing);
}

#[test]
fn store_cycle() {
    c_test("store_cycle", Argument::StoreFolder);
}

#[test]
fn copies_to_another_store() {
    c_test("copy", Argument::StoreFolder);
}

#[test]
fn many_writers_and_shards() {
    c_test("shards", Argument::StoreFolder);
}

#[test]
fn appends_and_updates() {
    c_test("changes", Argument::StoreFolder);
}

/// Plain and under AddressSanitizer, not under valgrind: memcheck cannot follow the vector
/// instructions of ring's AES-GCM (which parquet encrypts with), so it calls every ciphertext,
/// and all that is computed from it, uninitialised (as it does for OpenSSL's, openssl#19719).
#[test]
fn encrypted_snapshots() {
    let plain = compile("encryption", false);
    run("encryption", &plain, Argument::StoreFolder, false);
    let sanitized = compile("encryption", true);
    run("encryption", &sanitized, Argument::StoreFolder, false);
}

#[test]
fn partial_restore_by_ids() {
    c_test("partial", Argument::StoreFolder);
}

#[test]
fn threads_share_one_store() {
    let printed = c_test("threads", Argument::StoreFolder);
    // What the load did, for scripts/test.sh to print beside the storage tests' figures.
    let figures = printed.lines().next().unwrap_or_default();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reliability");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("c-threads.txt"), format!("c-api {figures}\n")).unwrap();
}

#[test]
fn bad_input() {
    c_test("bad_input", Argument::Nothing);
}

#[test]
fn files_other_tools_wrote() {
    c_test("foreign_files", Argument::ForeignFiles);
}

#[test]
fn the_example_host_backs_up_and_restores() {
    let program = compile_file(&repo().join("examples/c/backup.c"), "example-backup", false);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("valgrind")
        .args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--quiet",
        ])
        .arg(&program)
        .arg(format!("file://{}", dir.path().display()))
        .output()
        .expect("run the example under valgrind");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("identical"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
