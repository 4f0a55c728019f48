//! `gatehouse._native`: the Gatehouse core for Python. Delegation only: arguments are converted
//! (`convert`), the core decides with the GIL released, and core errors become the exceptions of
//! `gatehouse.errors` (`error`). The typed, documented API is the pure-Python package on top.
//! Every function and method that does more than read a field runs under `error::guard`, so a
//! panic (a bug) reaches Python as an `InternalError`, a `GatehouseError`, never as pyo3's
//! `PanicException`, a `BaseException` that `except Exception` misses.

mod convert;
mod error;
mod output;

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_core::{
    BundleSource, DecisionCache, DeploymentStatus, DirOptions, EngineOptions, EvaluateRequest,
    Event, EventType, Fanout, IntentSchema, Limits, NewEvent, PackedBundle, Rayon, Sequential,
    Stage, State, Timestamp, TrustedKey, load_dir, parse_intent,
};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// mimalloc for the native module's own (Rust) allocations, as in the `gatehouse` binary (why:
/// the `mimalloc` entry of the workspace `Cargo.toml`). Python objects keep Python's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The thread pool that runs the parts of split decisions: one per process, built on first use.
///
/// Why not rayon's global pool: no rayon pool survives `fork`. A child process (gunicorn
/// `--preload`, a `fork` multiprocessing pool) inherits the pool's state but none of its threads,
/// so work handed to it waits forever, and the global pool cannot be rebuilt. This pool
/// remembers the process that built it; a process that finds another's builds its own. The
/// inherited one is leaked, not dropped: its threads do not exist here, so there is nothing to
/// stop. The lock is only tried: a child forked while another thread held it (for the few
/// nanoseconds of a clone) runs its parts one after the other rather than wait on a lock that
/// no thread will release.
static POOL: Mutex<Option<ProcessPool>> = Mutex::new(None);

struct ProcessPool {
    pid: u32,
    pool: Arc<rayon::ThreadPool>,
}

/// This process's pool, or `None` when it cannot be had now (the lock is taken, or no thread
/// can be started): then the parts run on the calling thread.
fn process_pool() -> Option<Arc<rayon::ThreadPool>> {
    let pid = std::process::id();
    let mut slot = POOL.try_lock().ok()?;
    if let Some(current) = slot.as_ref().filter(|current| current.pid == pid) {
        return Some(Arc::clone(&current.pool));
    }
    if let Some(inherited) = slot.take() {
        std::mem::forget(inherited.pool);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("gatehouse-{i}"))
        .build()
        .ok()
        .map(Arc::new)?;
    *slot = Some(ProcessPool {
        pid,
        pool: Arc::clone(&pool),
    });
    Some(pool)
}

/// A loaded, compiled governance bundle. Immutable and thread-safe: evaluation releases the GIL.
/// With `split` > 1 each decision's packages are spread over that many parts, evaluated on
/// rayon's thread pool; with a cache, repeated evaluations are served from memory.
#[pyclass(name = "Engine", module = "gatehouse._native", frozen)]
pub struct Engine {
    inner: gatehouse_core::Engine,
    cache: Option<DecisionCache>,
    /// `split` > 1 was asked for: the parts of a decision run on rayon's pool. (A large bundle
    /// is spread over several engines anyway; without `split` they run on the calling thread.)
    parallel: bool,
}

/// How to load: the wall-clock limit, the parts of a decision, the cache size.
struct LoadOptions {
    time_limit: Duration,
    split: usize,
    cache_size: usize,
}

impl LoadOptions {
    /// The settings as Python gives them, each range-checked (a `SettingError` naming it).
    fn read(
        time_limit: &Bound<'_, PyAny>,
        split: &Bound<'_, PyAny>,
        cache_size: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let py = time_limit.py();
        let seconds = (!time_limit.is_instance_of::<PyBool>())
            .then(|| time_limit.extract::<f64>().ok())
            .flatten();
        let time_limit = seconds
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                error::setting(
                    py,
                    "time_limit",
                    format!(
                        "`time_limit` must be a positive, finite number of seconds, not {}",
                        repr(time_limit)
                    ),
                    "the wall-clock limit of one evaluation; the CLI uses 2",
                )
            })?;
        Ok(Self {
            time_limit,
            split: count(
                split,
                "split",
                1..=gatehouse_core::fanout::MAX_PARTS,
                "the parts each decision is evaluated in; 1 evaluates it on the calling thread",
            )?,
            cache_size: count(
                cache_size,
                "cache_size",
                0..=DecisionCache::MAX_CAPACITY,
                "the decisions kept in memory; 0 keeps none",
            )?,
        })
    }

    /// The core's options for these.
    fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            limits: Limits {
                time_limit: Some(self.time_limit),
            },
        }
    }
}

/// A whole-number setting in `range`, or a `SettingError` naming it.
fn count(
    value: &Bound<'_, PyAny>,
    name: &str,
    range: std::ops::RangeInclusive<usize>,
    help: &str,
) -> PyResult<usize> {
    (!value.is_instance_of::<PyBool>())
        .then(|| value.extract::<usize>().ok())
        .flatten()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            let message = format!(
                "`{name}` must be a whole number from {} to {}, not {}",
                range.start(),
                range.end(),
                repr(value)
            );
            error::setting(value.py(), name, message, help)
        })
}

/// `repr(value)`, cut to a readable length.
fn repr(value: &Bound<'_, PyAny>) -> String {
    let text = value
        .repr()
        .map_or_else(|_| "this value".to_owned(), |r| r.to_string());
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

impl Engine {
    /// The engine around a loaded core engine, with the cache and fanout `load` asks for.
    fn wrap(inner: gatehouse_core::Engine, load: &LoadOptions) -> Self {
        Self {
            inner,
            cache: NonZeroUsize::new(load.cache_size).map(DecisionCache::new),
            parallel: load.split > 1,
        }
    }

    fn load(py: Python<'_>, source: &BundleSource, load: &LoadOptions) -> PyResult<Self> {
        let options = load.engine_options();
        py.detach(|| gatehouse_core::Engine::load_split(source, options, load.split))
            .map(|inner| Self::wrap(inner, load))
            .map_err(|e| error::bundle(py, &e))
    }

    /// Converts the arguments, runs `stage` with the GIL released and returns the outcome and
    /// the decision's contract JSON.
    fn decide(
        &self,
        py: Python<'_>,
        intent: &Bound<'_, PyAny>,
        context: &Bound<'_, PyAny>,
        stage: Stage,
    ) -> PyResult<(&'static str, String)> {
        let context = convert::to_value(context, "context")?;
        let intent = Self::intent_value(py, intent)?;
        let request = EvaluateRequest::new(intent, Some(context), stage);
        let cache = self.cache.as_ref();
        let decision = py
            .detach(|| {
                let evaluate = |fanout: &dyn Fanout| request.evaluate(&self.inner, cache, fanout);
                match self.parallel.then(process_pool).flatten() {
                    Some(pool) => pool.install(|| evaluate(&Rayon)),
                    None => evaluate(&Sequential),
                }
            })
            .map_err(|e| error::request(py, &e))?;
        let json = decision
            .to_json()
            .map_err(|e| error::unwritable(py, "decision", &e))?;
        Ok((decision.outcome.as_str(), json))
    }

    /// The intent as a JSON value: text is parsed (JSON or YAML), a dict is converted.
    fn intent_value(py: Python<'_>, intent: &Bound<'_, PyAny>) -> PyResult<Value> {
        match intent.cast::<PyString>() {
            Ok(text) => {
                let text = text.to_cow()?;
                py.detach(|| parse_intent(&text))
                    .map_err(|e| error::intent(py, &e))
            }
            Err(_) => convert::to_value(intent, "intent"),
        }
    }
}

/// The trusted keys (PEM text of ed25519 public keys); one that is not is a `BundleError` at
/// `trusted_keys[i]`.
fn trusted_keys_of(py: Python<'_>, pems: &[String]) -> PyResult<Vec<TrustedKey>> {
    pems.iter()
        .enumerate()
        .map(|(i, pem)| TrustedKey::from_pem(pem).map_err(|e| error::key(py, i, &e)))
        .collect()
}

#[pymethods]
impl Engine {
    /// Loads the bundle in `path`, with `overlay` files added or replacing its own; decisions in
    /// `split` parts, `cache_size` decisions kept (0: no cache). With `trusted_keys` (PEM text of
    /// ed25519 public keys) the bundle must be signed by one of them.
    #[staticmethod]
    fn from_directory(
        py: Python<'_>,
        path: PathBuf,
        overlay: BTreeMap<String, String>,
        time_limit: &Bound<'_, PyAny>,
        split: &Bound<'_, PyAny>,
        cache_size: &Bound<'_, PyAny>,
        trusted_keys: Vec<String>,
    ) -> PyResult<Self> {
        error::guard(py, || {
            let load = LoadOptions::read(time_limit, split, cache_size)?;
            let trusted_keys = trusted_keys_of(py, &trusted_keys)?;
            let options = DirOptions {
                engine: load.engine_options(),
                split: load.split,
                overlay,
                trusted_keys,
            };
            py.detach(|| load_dir(&path, &options))
                .map(|bundle| Self::wrap(bundle.engine, &load))
                .map_err(|e| error::dir(py, &e))
        })
    }

    /// Loads a bundle given as bundle path to file text.
    #[staticmethod]
    fn from_files(
        py: Python<'_>,
        files: BTreeMap<String, String>,
        time_limit: &Bound<'_, PyAny>,
        split: &Bound<'_, PyAny>,
        cache_size: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        error::guard(py, || {
            let load = LoadOptions::read(time_limit, split, cache_size)?;
            Self::load(py, &BundleSource { files }, &load)
        })
    }

    /// Loads a bundle from the JSON text of a packed bundle document (`gatehouse bundle`,
    /// `GET /v1/bundle`), checked by the core (format, digest, manifest and, with `trusted_keys`,
    /// its signature) before it loads.
    #[staticmethod]
    fn from_bundle(
        py: Python<'_>,
        document: &str,
        time_limit: &Bound<'_, PyAny>,
        split: &Bound<'_, PyAny>,
        cache_size: &Bound<'_, PyAny>,
        trusted_keys: Vec<String>,
    ) -> PyResult<Self> {
        error::guard(py, || {
            let load = LoadOptions::read(time_limit, split, cache_size)?;
            let trusted_keys = trusted_keys_of(py, &trusted_keys)?;
            let source = py
                .detach(|| {
                    PackedBundle::from_json(document)
                        .and_then(|packed| packed.verify_with(&trusted_keys))
                })
                .map_err(|e| error::packed(py, &e))?;
            Self::load(py, &source, &load)
        })
    }

    /// How many parts each decision is evaluated in.
    #[getter]
    fn parts(&self) -> usize {
        self.inner.parts()
    }

    /// The decision cache's counters (`hits`, `misses`, `evictions`, `entries`, `capacity`), or
    /// `None` without a cache.
    fn cache_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        error::guard(py, || {
            self.cache
                .as_ref()
                .map(|cache| convert::serialize_to_python(py, &cache.stats()))
                .transpose()
        })
    }

    /// The manifest's name.
    #[getter]
    fn bundle_name(&self) -> &str {
        &self.inner.info().name
    }

    /// The manifest's revision.
    #[getter]
    fn bundle_revision(&self) -> &str {
        &self.inner.info().revision
    }

    /// `sha256:<hex>` over the bundle's files.
    #[getter]
    fn bundle_digest(&self) -> &str {
        &self.inner.info().digest
    }

    /// Policy id to catalogue metadata.
    fn catalog<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        error::guard(py, || {
            let catalog: BTreeMap<&str, _> = self.inner.catalog().iter().collect();
            convert::serialize_to_python(py, &catalog)
        })
    }

    /// Evaluates an intent (text or dict) for admission in a context dict; returns the outcome and
    /// the decision's contract JSON.
    fn evaluate(
        &self,
        py: Python<'_>,
        intent: &Bound<'_, PyAny>,
        context: &Bound<'_, PyAny>,
    ) -> PyResult<(&'static str, String)> {
        error::guard(py, || self.decide(py, intent, context, Stage::Admission))
    }

    /// Evaluates the release gates over the pipeline's evidence, as [`Self::evaluate`].
    fn evaluate_gates(
        &self,
        py: Python<'_>,
        intent: &Bound<'_, PyAny>,
        context: &Bound<'_, PyAny>,
    ) -> PyResult<(&'static str, String)> {
        error::guard(py, || self.decide(py, intent, context, Stage::Gates))
    }

    /// The intent's schema errors (`path`, `message`, `keyword`, `expected`), empty when valid.
    fn validate_intent<'py>(
        &self,
        py: Python<'py>,
        intent: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        error::guard(py, || {
            let intent = Self::intent_value(py, intent)?;
            let errors = py.detach(|| self.inner.schema().validate(&intent));
            convert::serialize_to_python(py, &errors)
        })
    }
}

/// The intent JSON Schema (draft 2020-12).
#[pyfunction]
fn intent_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    error::guard(py, || output::to_python(py, &IntentSchema::as_json()))
}

/// The decision's JSON Schema (draft 2020-12), the contract's: `docs/decision.schema.json`.
#[pyfunction]
fn decision_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    error::guard(py, || {
        let schema = gatehouse_core::decision_schema()
            .map_err(|e| error::unwritable(py, "decision schema", &e))?;
        output::to_python(py, &schema)
    })
}

/// How two bundle revisions order (the core's `compare_revisions`): `-1` when `a` comes before
/// `b`, `0` when they are the same revision, `1` when `a` comes after `b`.
#[pyfunction]
fn compare_revisions(a: &str, b: &str) -> i8 {
    match gatehouse_core::compare_revisions(a, b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}

fn timestamp(py: Python<'_>, at: &str) -> PyResult<Timestamp> {
    Timestamp::parse(at).map_err(|e| error::timestamp(py, &e))
}

/// Reads a lifecycle record (event, status, state, event type) with the core's serde format.
fn record<T: DeserializeOwned>(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    what: &str,
    code: &str,
) -> PyResult<T> {
    let value = convert::to_value(obj, what)?;
    serde_json::from_value(value).map_err(|e| error::record(py, code, format!("`{what}`: {e}")))
}

fn event_type(py: Python<'_>, name: &str) -> PyResult<EventType> {
    serde_json::from_value(Value::from(name)).map_err(|_| {
        let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
        error::record(
            py,
            error::EVENT_INVALID,
            format!(
                "unknown event type `{name}`; expected one of {}",
                known.join(", ")
            ),
        )
    })
}

/// A new deployment: its status and its first, `requested`, event.
#[pyfunction]
fn start_deployment<'py>(
    py: Python<'py>,
    deployment_id: &str,
    at: &str,
    actor: &str,
    data: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    error::guard(py, || {
        let at = timestamp(py, at)?;
        let data = convert::to_value(data, "data")?;
        let (status, event) = DeploymentStatus::start(deployment_id, at, actor, data);
        Ok((
            convert::serialize_to_python(py, &status)?,
            convert::serialize_to_python(py, &event)?,
        ))
    })
}

/// The next hash-chained event after `status`, and the status it leads to.
#[pyfunction]
fn append_event<'py>(
    py: Python<'py>,
    status: &Bound<'py, PyAny>,
    event_type: &str,
    at: &str,
    actor: &str,
    data: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    error::guard(py, || {
        let status: DeploymentStatus = record(py, status, "status", error::STATUS_INVALID)?;
        let new = NewEvent {
            kind: self::event_type(py, event_type)?,
            at: timestamp(py, at)?,
            actor: actor.to_owned(),
            data: convert::to_value(data, "data")?,
        };
        let (status, event) = status.append(new).map_err(|e| error::transition(py, &e))?;
        Ok((
            convert::serialize_to_python(py, &status)?,
            convert::serialize_to_python(py, &event)?,
        ))
    })
}

/// Verifies a chain and folds it into the deployment's status.
#[pyfunction]
fn replay<'py>(py: Python<'py>, events: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    error::guard(py, || {
        let events: Vec<Event> = record(py, events, "events", error::EVENT_INVALID)?;
        let status = py
            .detach(|| gatehouse_core::replay(&events))
            .map_err(|e| error::chain(py, &e))?;
        convert::serialize_to_python(py, &status)
    })
}

/// Checks a chain's links (sequence, deployment, hashes, time).
#[pyfunction]
fn verify_chain(py: Python<'_>, events: &Bound<'_, PyAny>) -> PyResult<()> {
    error::guard(py, || {
        let events: Vec<Event> = record(py, events, "events", error::EVENT_INVALID)?;
        py.detach(|| gatehouse_core::verify_chain(&events))
            .map_err(|e| error::chain(py, &e))
    })
}

/// The state after `event_type` from `state` (`None` before the first event).
#[pyfunction]
#[pyo3(signature = (state, event_type))]
fn next_state(py: Python<'_>, state: Option<&str>, event_type: &str) -> PyResult<&'static str> {
    error::guard(py, || {
        let state = state
            .map(|name| {
                serde_json::from_value::<State>(Value::from(name)).map_err(|_| {
                    error::record(py, error::STATUS_INVALID, format!("unknown state `{name}`"))
                })
            })
            .transpose()?;
        let event = self::event_type(py, event_type)?;
        gatehouse_core::next_state(state, event)
            .map(State::as_str)
            .map_err(|e| error::transition(py, &e))
    })
}

/// The Gatehouse core, wrapped by the `gatehouse` package.
#[pymodule(name = "_native")]
mod native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::{
        Engine, append_event, compare_revisions, decision_schema, intent_schema, next_state,
        replay, start_deployment, verify_chain,
    };

    /// The settings' bounds, the intent's size limit, the lifecycle's states and the contract's
    /// names, as module constants: the package's Python takes them from here, not from copies.
    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        use gatehouse_core::State;
        use pyo3::types::PyTuple;

        let py = module.py();
        module.add("MAX_SPLIT", gatehouse_core::fanout::MAX_PARTS)?;
        module.add(
            "MAX_CACHE_SIZE",
            gatehouse_core::DecisionCache::MAX_CAPACITY,
        )?;
        module.add("MAX_INTENT_BYTES", gatehouse_core::intent::MAX_INTENT_BYTES)?;
        module.add("STATES", PyTuple::new(py, State::ALL.map(State::as_str))?)?;
        let terminal: Vec<&str> = State::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .map(State::as_str)
            .collect();
        module.add("TERMINAL_STATES", PyTuple::new(py, terminal)?)?;
        module.add("SCHEMA_POLICY", gatehouse_core::catalog::SCHEMA_POLICY)?;
        module.add("PROBLEM_TYPE_BASE", gatehouse_core::PROBLEM_TYPE_BASE)?;
        Ok(())
    }
}
