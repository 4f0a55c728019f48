//! Running the independent parts of one decision at the same time, on threads the caller owns.
//!
//! The core starts no threads of its own: an engine loaded with [`crate::Engine::load_split`]
//! spreads its policy packages over several engines, and [`crate::Engine::evaluate_stage`] hands
//! the parts to a [`Fanout`] that the caller provides: a thread pool it already runs (`Rayon`,
//! with the `rayon` feature: the pool the caller is running in, or rayon's global one; the CLI and
//! the Python bindings use it), [`ScopedThreads`] (threads started for the one decision and
//! joined before it returns), or [`Sequential`]. The decision is assembled in package order from
//! whatever order the parts finish in, so it has the same bytes whichever fanout runs it.
//!
//! Why the caller's threads: a pool that the core started would outlive every call and sit in
//! the browser build, which has no threads; starting threads per decision costs tens of
//! microseconds each, a noticeable share of a decision that takes a hundred or two.

/// The most parts front ends let a setting split a decision into (`split`): a decision has
/// tens of policy packages, and a part per package is already the most there can be.
pub const MAX_PARTS: usize = 64;

/// Runs the parts of a decision: calls `task(i)` once for every `i` in `0..count`, in any order
/// and on any threads, and returns when every call has returned.
pub trait Fanout: Sync {
    /// Calls `task` for each index in `0..count`; returns when all calls have returned.
    fn run(&self, count: usize, task: &(dyn Fn(usize) + Sync));
}

/// One part after the other, on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sequential;

impl Fanout for Sequential {
    fn run(&self, count: usize, task: &(dyn Fn(usize) + Sync)) {
        (0..count).for_each(task);
    }
}

/// Every part but the first on a thread started for it (`std::thread::scope`), the first on the
/// calling thread. Starting a thread costs tens of microseconds; callers that evaluate often
/// should run their own pool. Where a thread cannot be started, its part runs on the calling
/// thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScopedThreads;

impl Fanout for ScopedThreads {
    fn run(&self, count: usize, task: &(dyn Fn(usize) + Sync)) {
        if count == 0 {
            return;
        }
        std::thread::scope(|scope| {
            let mut inline = Vec::new();
            for i in 1..count {
                let spawned = std::thread::Builder::new().spawn_scoped(scope, move || task(i));
                if spawned.is_err() {
                    inline.push(i);
                }
            }
            task(0);
            inline.into_iter().for_each(task);
        });
    }
}

/// The parts on rayon's thread pool: the pool the calling thread runs in (`ThreadPool::install`),
/// else rayon's global pool. The calling thread takes the first part and, while it waits,
/// others.
#[cfg(feature = "rayon")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Rayon;

#[cfg(feature = "rayon")]
impl Fanout for Rayon {
    fn run(&self, count: usize, task: &(dyn Fn(usize) + Sync)) {
        rayon::scope(|scope| {
            for i in 1..count {
                scope.spawn(move |_| task(i));
            }
            if count > 0 {
                task(0);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_index_runs_once() {
        let fanouts: Vec<&dyn Fanout> = vec![
            &Sequential,
            &ScopedThreads,
            #[cfg(feature = "rayon")]
            &Rayon,
        ];
        for fanout in fanouts {
            let seen = Mutex::new(Vec::new());
            fanout.run(5, &|i| seen.lock().unwrap().push(i));
            let mut seen = seen.into_inner().unwrap();
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        }
    }
}
