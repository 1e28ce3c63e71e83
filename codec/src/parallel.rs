//! Work spread over the machine's cores, in order, with no thread pool to configure.
//!
//! Without the `parallel` feature, or where threads cannot be spawned (wasm32), everything runs
//! on the calling thread, and the results are the same.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `f(0), f(1), … f(n - 1)`, computed on up to as many threads as the machine has cores, the
/// calling thread among them; returned in index order. A panic in `f` is resumed on the caller.
pub(crate) fn map_ordered<O: Send>(n: usize, f: impl Fn(usize) -> O + Sync) -> Vec<O> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(n));
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            mine.push((i, f(i)));
        }
        // A poisoned lock means another worker panicked; its panic is resumed below.
        if let Ok(mut done) = done.lock() {
            done.extend(mine);
        }
    };
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers(n))
            .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        work();
        for helper in helpers {
            if let Err(panic) = helper.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, o)| o).collect()
}

/// How many threads work on `n` items: one per core, at most `n`.
pub(crate) fn workers(n: usize) -> usize {
    if !cfg!(feature = "parallel") || cfg!(target_family = "wasm") {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(n)
}
