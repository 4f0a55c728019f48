//! The budget of body bytes in flight, which bounds the memory of requests that wait to be
//! evaluated: the server state holds one, and every body is read within it (`crate::body`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::header;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::LimitsConfig;
use crate::problem::Problem;

/// The budget's unit: a reservation is counted in whole KiB.
const BUDGET_UNIT: usize = 1024;

/// The bytes of request bodies that may be read, parsed and evaluated at once, overall
/// (`limits.body_bytes_in_flight`) and per client address
/// (`limits.body_bytes_in_flight_per_client`).
///
/// A request reserves its declared `Content-Length` (or `limits.body_bytes` when it declares
/// none) before a byte of its body is read, and keeps the reservation until its answer is
/// ready: the body, the parsed intent and the evaluation of waiting requests then take memory
/// in proportion to the budget, not to the number of connections. A request that does not fit
/// waits up to `limits.evaluation_wait_ms`, then is answered 503 `overloaded`, its body unread.
pub struct BodyBudget {
    total: Arc<Semaphore>,
    per_client: u32,
    clients: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
    wait: Duration,
}

/// Body bytes reserved by one request; dropping it returns them.
pub struct BodyReservation {
    total: Option<OwnedSemaphorePermit>,
    client: Option<OwnedSemaphorePermit>,
    budget: Arc<BodyBudget>,
    addr: IpAddr,
}

/// Units of the budget for `bytes`, rounded up.
fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(BUDGET_UNIT)).unwrap_or(u32::MAX)
}

impl BodyBudget {
    /// The budget `limits` configure.
    pub fn new(limits: &LimitsConfig) -> Self {
        Self {
            total: Arc::new(Semaphore::new(
                (units(limits.body_bytes_in_flight) as usize).min(Semaphore::MAX_PERMITS),
            )),
            per_client: units(limits.body_bytes_in_flight_per_client),
            clients: Mutex::new(HashMap::new()),
            wait: Duration::from_millis(limits.evaluation_wait_ms),
        }
    }

    /// Reserves `bytes` for a request of `addr`: its own budget first, then the shared one,
    /// each waited for within the same `limits.evaluation_wait_ms`.
    pub(crate) async fn reserve(
        self: &Arc<Self>,
        addr: IpAddr,
        bytes: usize,
    ) -> Result<BodyReservation, Problem> {
        let need = units(bytes);
        let client = {
            let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                clients
                    .entry(addr)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_client as usize))),
            )
        };
        let mut reservation = BodyReservation {
            total: None,
            client: None,
            budget: Arc::clone(self),
            addr,
        };
        let take = async {
            reservation.client = Arc::clone(&client).acquire_many_owned(need).await.ok();
            reservation.total = Arc::clone(&self.total).acquire_many_owned(need).await.ok();
        };
        let taken = tokio::time::timeout(self.wait, take).await.is_ok();
        drop(client);
        if taken && reservation.client.is_some() && reservation.total.is_some() {
            Ok(reservation)
        } else {
            Err(Problem::unavailable(
                "overloaded",
                format!(
                    "the server is reading and evaluating as many request bodies as its limits allow (`limits.body_bytes_in_flight`, `limits.body_bytes_in_flight_per_client`) and none finished within {} ms; retry after the Retry-After delay",
                    self.wait.as_millis()
                ),
            )
            .with_header(header::CONNECTION, "close"))
        }
    }
}

impl Drop for BodyReservation {
    fn drop(&mut self) {
        self.total.take();
        self.client.take();
        // Forget an address whose budget is whole again and that nobody waits on.
        let mut clients = self
            .budget
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if clients
            .get(&self.addr)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            clients.remove(&self.addr);
        }
    }
}
