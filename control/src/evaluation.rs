//! Policy evaluation as the control plane runs it: a counting semaphore that
//! bounds how many evaluations run at once. Evaluations are CPU-bound: more at once only makes
//! each slower, so at most `limits.evaluation_concurrency` run and a caller waits at most
//! `limits.evaluation_wait_ms` for a slot before it is refused as overloaded. Plain `std`
//! primitives: evaluations run on blocking threads, not on the async runtime.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A counting semaphore around policy evaluation.
pub struct EvaluationGate {
    free: Mutex<usize>,
    freed: Condvar,
    slots: usize,
    wait: Duration,
}

/// A held evaluation slot; dropping it frees the slot.
pub struct EvaluationSlot<'a> {
    gate: &'a EvaluationGate,
}

/// No evaluation slot became free in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the server is evaluating as many intents as `limits.evaluation_concurrency` ({slots}) allows and none finished within {waited_ms} ms; retry in a moment"
)]
pub struct Overloaded {
    /// The configured slots.
    pub slots: usize,
    /// How long the request waited.
    pub waited_ms: u64,
}

impl EvaluationGate {
    /// A gate with `slots` slots and a wait of `wait`.
    pub fn new(slots: usize, wait: Duration) -> Self {
        Self {
            free: Mutex::new(slots),
            freed: Condvar::new(),
            slots,
            wait,
        }
    }

    /// Takes a slot, waiting at most the configured time.
    pub fn acquire(&self) -> Result<EvaluationSlot<'_>, Overloaded> {
        let deadline = Instant::now() + self.wait;
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Err(Overloaded {
                    slots: self.slots,
                    waited_ms: u64::try_from(self.wait.as_millis()).unwrap_or(u64::MAX),
                });
            };
            free = self
                .freed
                .wait_timeout(free, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        *free -= 1;
        Ok(EvaluationSlot { gate: self })
    }
}

impl Drop for EvaluationSlot<'_> {
    fn drop(&mut self) {
        let mut free = self.gate.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.gate.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_gate_refuses_after_the_wait_and_a_freed_slot_is_taken_again() {
        let gate = EvaluationGate::new(1, Duration::from_millis(10));
        let held = gate.acquire().unwrap();
        let refused = gate.acquire().err().unwrap();
        assert_eq!(
            refused,
            Overloaded {
                slots: 1,
                waited_ms: 10
            }
        );
        drop(held);
        assert!(gate.acquire().is_ok());
    }
}
