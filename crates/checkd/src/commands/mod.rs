//! One module per subcommand; shared loading and exit codes here.

pub mod daemon;
pub mod once;
pub mod output;
pub mod schema;
pub mod test;
pub mod validate;

use std::path::Path;
use std::sync::Arc;

use checkd_config::{Diagnostics, LoadOptions, Loaded};
use checkd_datasource::Datasources;
use checkd_model::plan::{CacheLayer, FleetSettings, Plan};
use checkd_scheduler::Fleet;
use checkd_store::{build_chain, ChainOptions, LayerConfig, Store};

use crate::selfmon::SelfStatus;

/// `checkd once`'s code when checkd itself fails (bad config, …): above every Nagios state.
pub const EXIT_INTERNAL: u8 = 4;

/// Loads the config with the process environment, `CHECKD_ENVIRONMENT` overriding the
/// execution environment.
pub fn load(config: &Path) -> Result<Arc<Plan>, Diagnostics> {
    checkd_config::load(config, &load_options()).map(Arc::new)
}

/// [`load`], and the test files of the check directories (for `checkd test`).
pub fn load_with_tests(config: &Path) -> Result<Loaded, Diagnostics> {
    checkd_config::load_with_tests(config, &load_options())
}

fn load_options() -> LoadOptions<'static> {
    LoadOptions {
        execution_environment: std::env::var("CHECKD_ENVIRONMENT")
            .ok()
            .filter(|e| !e.is_empty()),
        env: &process_env,
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Opens the configured cache layers as one chain. A layer that cannot be used (a locked or
/// unwritable sled directory) is logged and left out: checkd keeps serving from the others.
/// `persistent_only` leaves out the memory layers, for reading what a daemon left behind.
pub async fn open_store(plan: &Plan, persistent_only: bool) -> anyhow::Result<OpenedStore> {
    let layers: Vec<LayerConfig> = plan
        .cache
        .layers
        .iter()
        .filter(|layer| !persistent_only || layer.is_persistent())
        .map(LayerConfig::from_plan)
        .collect();
    if layers.is_empty() {
        anyhow::bail!("no persistent cache layer is configured (cache.layers)");
    }
    let built = build_chain(
        &layers,
        ChainOptions::from_plan(&plan.cache),
        &producer(plan),
    )
    .await?;
    for problem in &built.problems {
        tracing::error!("{problem}");
    }
    if built.chain.layers().next().is_none() {
        anyhow::bail!("no cache layer could be opened");
    }
    let left_out = built.problems.iter().map(ToString::to_string).collect();
    Ok(OpenedStore {
        store: Arc::new(built.chain),
        left_out,
    })
}

/// The cache chain, and the configured layers that could not be opened.
#[derive(Debug, Clone)]
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    pub left_out: Vec<String>,
}

impl OpenedStore {
    /// For the self-monitoring service.
    pub fn status(&self, lag_ms: u64) -> SelfStatus {
        SelfStatus {
            lag_ms,
            layers: self.store.stats(),
            left_out: self.left_out.clone(),
            last_reload: None,
            fleet: None,
        }
    }
}

/// Where shared datasource responses live: a bounded memory layer, and the configured Redis
/// layers so instances sharing a Redis share responses too. Never sled: a response is only
/// worth keeping for seconds.
pub async fn response_store(plan: &Plan) -> anyhow::Result<Arc<dyn Store>> {
    let mut layers = vec![LayerConfig::Memory {
        max_entries: Datasources::DEFAULT_MAX_RESPONSES,
        max_bytes: Some(Datasources::DEFAULT_MAX_RESPONSE_BYTES),
    }];
    layers.extend(
        plan.cache
            .layers
            .iter()
            .filter(|layer| matches!(layer, CacheLayer::Redis { .. }))
            .map(LayerConfig::from_plan),
    );
    let built = build_chain(
        &layers,
        ChainOptions::from_plan(&plan.cache),
        &producer(plan),
    )
    .await?;
    Ok(Arc::new(built.chain))
}

/// The configured Redis layers alone, chained: where fleet leases, heartbeats, the other
/// instances' results and shared OAuth2 tokens are read, with no memory layer in front that
/// could hide a newer entry. `None` without a Redis layer.
pub async fn redis_layers(plan: &Plan) -> anyhow::Result<Option<Arc<dyn Store>>> {
    let layers: Vec<LayerConfig> = plan
        .cache
        .layers
        .iter()
        .filter(|layer| matches!(layer, CacheLayer::Redis { .. }))
        .map(LayerConfig::from_plan)
        .collect();
    if layers.is_empty() {
        return Ok(None);
    }
    let built = build_chain(
        &layers,
        ChainOptions::from_plan(&plan.cache),
        &producer(plan),
    )
    .await?;
    Ok(Some(Arc::new(built.chain)))
}

/// This instance's part in the fleet, coordinating through `redis`.
pub fn fleet(settings: &FleetSettings, redis: Arc<dyn Store>) -> Fleet {
    let instance = settings
        .instance
        .clone()
        .unwrap_or_else(|| format!("{}:{}", host_name(), std::process::id()));
    Fleet::new(instance, settings.clone(), redis)
}

/// The plan's datasources, sharing responses through `responses` and OAuth2 tokens (of
/// clients with `share_token`) through `redis`.
pub fn datasources(
    plan: &Plan,
    responses: &Arc<dyn Store>,
    redis: Option<&Arc<dyn Store>>,
) -> anyhow::Result<Datasources> {
    let datasources = Datasources::build(&plan.datasources)?
        .with_store(Arc::clone(responses))
        .with_producer(&producer(plan));
    Ok(match redis {
        Some(redis) => datasources.with_token_store(Arc::clone(redis)),
        None => datasources,
    })
}

/// Who wrote an entry: the execution environment and the host, for people reading a shared
/// Redis.
fn producer(plan: &Plan) -> String {
    format!("{}@{}", plan.execution_environment, host_name())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Prints every diagnostic on stderr, one per line.
pub fn report(diagnostics: &Diagnostics) {
    eprintln!("{diagnostics}");
}
