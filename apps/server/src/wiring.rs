//! Wiring: the cache the settings name, the demo's database when the demo is on, the
//! performance service over them, the perfkit API router (plus the demo routes) behind the
//! request-metrics layer, then serving until a signal and stopping in order.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::http::{HeaderValue, header};
use perfkit::alerting::EngineConfig;
use perfkit::cache::{CacheBackend, MemoryCache, RedisCache, TieredCache};
use perfkit::host::{WorkerPool, WorkerPoolConfig};
use perfkit::metrics::Recorder;
use perfkit::{HealthCheckOptions, PerformanceService};
use perfkit_axum::ProgramInfo;
use perfkit_otel::TracePipeline;
use tokio::net::{TcpListener, TcpSocket};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::admin_token;
use crate::cli::Cli;
use crate::config::{CacheSettings, Settings};
#[cfg(feature = "demo")]
use crate::demo::{self, DemoDatabase, DemoWarmer};
use crate::program_info::BuildInfoCollector;
use crate::reload;
use crate::security;
use crate::serve::{
    self, ConnectionCollector, ConnectionFigures, ConnectionLimits, Drain, Serving,
};

/// Runs the server until SIGINT or SIGTERM: binds first (so a taken address fails before
/// anything starts), builds and starts the service, serves, drains, stops the service.
/// SIGHUP meanwhile reloads what `reload` can, re-reading the layers `cli` names. The service
/// records into `recorder`, which logging already feeds with the demo's statement timings;
/// `program` is what `/info` and `perfkit_build_info` say of this binary.
pub(crate) async fn run(
    settings: Settings,
    cli: Cli,
    recorder: Arc<Recorder>,
    program: ProgramInfo,
    traces: Option<TracePipeline>,
) -> Result<()> {
    let listener =
        listen(settings.bind).with_context(|| format!("cannot listen on {}", settings.bind))?;
    let address = listener.local_addr().context("cannot read the bound address")?;
    let (token, origin) = admin_token::choose(settings.admin_token.as_ref())?;
    admin_token::announce(&token, origin);

    // The server's job queue: the demo's read-ahead runs on it, the service watches its
    // length and the optimizer may scale it.
    let jobs =
        WorkerPool::new(WorkerPoolConfig::default()).context("cannot start the job queue")?;
    #[cfg(feature = "demo")]
    let database = match &settings.demo {
        Some(demo) => {
            let database =
                DemoDatabase::open(&demo.database, &demo.read_database_urls, demo.pool).await?;
            database.spawn_health_checks();
            Some(database)
        }
        None => None,
    };
    // The demo's hot keys, from the list its previous run saved: they set its TTLs and
    // name what is warmed.
    #[cfg(feature = "demo")]
    let demo_parts = match (&settings.demo, database) {
        (Some(demo), Some(database)) => Some((database, DemoWarmer::new(&demo.hot)?)),
        _ => None,
    };
    #[cfg(feature = "demo")]
    let service = build_service(
        &settings,
        recorder,
        &jobs,
        traces.as_ref(),
        demo_parts.as_ref().map(|(database, warmer)| (database, warmer)),
    )
    .await?;
    #[cfg(not(feature = "demo"))]
    let service = build_service(&settings, recorder, &jobs, traces.as_ref()).await?;
    expose_build_info(&service, &program)?;
    #[cfg(feature = "demo")]
    let router = build_router(&service, &settings, token.0, program, &jobs, demo_parts.clone())?;
    // Before the server says it listens, so its first answers are the warmed keys' hits.
    #[cfg(feature = "demo")]
    let saving = match &demo_parts {
        Some((_, warmer)) => Some(demo::warming::before_serving(warmer).await),
        None => None,
    };
    #[cfg(not(feature = "demo"))]
    let router = build_router(&service, &settings, token.0, program)?;
    #[cfg(feature = "demo")]
    let database_kind = demo_parts.as_ref().map_or("none", |(database, _)| database.kind());
    #[cfg(not(feature = "demo"))]
    let database_kind = "none";
    let serving = serving(&service, settings.connections)?;
    if let Some(traces) = &traces {
        expose_traces(&service, traces)?;
    }
    service.start();
    let reloading = tokio::spawn(reload::on_sighup(service.clone(), cli));
    tracing::info!(
        %address,
        alert_log = settings.notifiers.log,
        webhooks = settings.notifiers.webhooks.len(),
        alertmanagers = settings.notifiers.alertmanagers.len(),
        url = %format!("http://{address}/"),
        cache = cache_name(&settings.cache),
        demo = settings.demo.is_some(),
        runtime = settings.runtime.as_str(),
        instance = %settings.service.instance,
        database = database_kind,
        traces = settings.tracing.as_ref().map_or("off", |t| t.export.endpoint.as_str()),
        "perfkit-server listening"
    );

    let stop = async {
        match serve::signal().await {
            Ok(name) => tracing::info!(signal = name, "shutting down: draining requests"),
            Err(error) => tracing::error!(%error, "cannot wait for signals; shutting down"),
        }
    };
    let drained =
        serve::serve_until(listener, router, serving, stop, settings.shutdown_grace).await;
    if let Ok(Drain::TimedOut) = drained {
        tracing::warn!(grace = ?settings.shutdown_grace, "requests still open after the grace period were dropped");
    }
    reloading.abort();
    service.shutdown().await;
    jobs.shutdown().await;
    #[cfg(feature = "demo")]
    if let Some((database, warmer)) = demo_parts {
        if let Some(saving) = &saving {
            demo::warming::after_serving(&warmer, saving);
        }
        database.close().await;
    }
    // Last: the spans of everything above are in the queue. Bounded by the export timeout,
    // whatever the collector does.
    if let (Some(traces), Some(tracing)) = (traces, &settings.tracing) {
        crate::traces::stop(traces, tracing.export.export_timeout).await;
    }
    tracing::info!("perfkit-server stopped");
    drained.map(|_| ())
}

/// `perfkit_build_info` in the service's Prometheus exposition.
fn expose_build_info(service: &PerformanceService, program: &ProgramInfo) -> Result<()> {
    let collector =
        BuildInfoCollector::new(program).context("cannot describe the build information")?;
    service
        .parts()
        .exporter
        .registry()
        .register(Box::new(collector))
        .context("cannot add the build information to the exposition")
}

/// How connections are served, with their figures in the service's Prometheus exposition.
fn serving(service: &PerformanceService, limits: ConnectionLimits) -> Result<Serving> {
    let figures = Arc::new(ConnectionFigures::default());
    let collector = ConnectionCollector::new(Arc::clone(&figures))
        .context("cannot describe the connection figures")?;
    service
        .parts()
        .exporter
        .registry()
        .register(Box::new(collector))
        .context("cannot add the connection figures to the exposition")?;
    Ok(Serving { limits, figures })
}

/// The trace export's figures in the service's Prometheus exposition.
fn expose_traces(service: &PerformanceService, traces: &TracePipeline) -> Result<()> {
    let collector = crate::traces::TraceCollector::new(traces.figures())
        .context("cannot describe the trace export figures")?;
    service
        .parts()
        .exporter
        .registry()
        .register(Box::new(collector))
        .context("cannot add the trace export figures to the exposition")
}

/// Connections the kernel may hold for us before we accept them. tokio's default (1024)
/// overflows under a burst of 1000 new clients on a busy machine, and a client whose
/// handshake the kernel dropped is reset at shutdown; the kernel caps this at somaxconn.
const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `address` with [`LISTEN_BACKLOG`] (address reuse on, as tokio's `bind`).
fn listen(address: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The performance service over the configured cache, rules and optimizer (not started),
/// recording into `recorder`, watching `jobs` as its queue and `database`'s pool. With
/// Redis, it coordinates with the other servers on the same Redis and namespace
/// (announcements, optimizer and cache-clear turns); in memory, with itself.
pub(crate) async fn build_service(
    settings: &Settings,
    recorder: Arc<Recorder>,
    jobs: &WorkerPool,
    traces: Option<&TracePipeline>,
    #[cfg(feature = "demo")] demo_parts: Option<(&DemoDatabase, &Arc<DemoWarmer>)>,
) -> Result<PerformanceService> {
    let engine = EngineConfig {
        inhibit_rules: settings.inhibit_rules.clone(),
        generator_url: settings.notifiers.external_url.clone(),
        trace_url: settings.trace_url.clone(),
        ..EngineConfig::default()
    };
    let mut builder = PerformanceService::builder();
    let cache: Arc<dyn CacheBackend> = match &settings.cache {
        CacheSettings::Memory(config) => Arc::new(MemoryCache::new(config.clone())),
        CacheSettings::Redis { redis, near: Some(near) } => {
            let tiered = TieredCache::connect(redis.clone(), *near).await.with_context(|| {
                format!(
                    "cannot set up the near cache over {} (--no-near-cache turns it off)",
                    redis.url
                )
            })?;
            builder = builder.coordination(Arc::new(tiered.back().coordination()));
            Arc::new(tiered)
        }
        CacheSettings::Redis { redis, near: None } => {
            let back = RedisCache::connect(redis.clone())
                .await
                .with_context(|| format!("cannot set up the redis cache at {}", redis.url))?;
            builder = builder.coordination(Arc::new(back.coordination()));
            Arc::new(back)
        }
    };
    builder = builder
        .config(settings.service.clone())
        .recorder(recorder)
        // The allocator the binary runs on: the memory action releases through it.
        .heap_allocator(Arc::new(crate::allocator::Mimalloc))
        .cache(cache)
        .queue_control(Arc::new(jobs.clone()))
        .alert_rules(settings.alert_rules.clone())
        .alert_engine_config(engine)
        .optimizer_config(settings.optimizer.clone());
    #[cfg(feature = "demo")]
    if let (Some((database, warmer)), Some(demo_settings)) = (demo_parts, &settings.demo) {
        builder = demo::service::attach(builder, database, demo_settings, warmer)?;
    }
    if let Some(traces) = traces {
        // Not critical: dropped spans degrade /health, they never make the server unready.
        let check =
            crate::traces::export_check(traces.figures(), traces.settings().endpoint.clone());
        builder = builder.health_indicator(
            crate::traces::INDICATOR,
            HealthCheckOptions::non_critical(Duration::from_secs(1)),
            check,
        );
    }
    for (notifier, policy) in
        settings.notifiers.build().context("cannot set up the alert notifiers")?
    {
        builder = builder.notifier(notifier, policy);
    }
    let service = builder.build().context("cannot build the performance service")?;
    #[cfg(feature = "demo")]
    if let Some((database, _)) = demo_parts {
        demo::service::expose(&service, database)?;
    }
    Ok(service)
}

/// The whole HTTP surface: the perfkit API, the demo routes when enabled, and the request
/// metrics layer over both (so the demo's requests are measured like any host app's).
pub(crate) fn build_router(
    service: &PerformanceService,
    settings: &Settings,
    admin_token: String,
    program: ProgramInfo,
    #[cfg(feature = "demo")] jobs: &WorkerPool,
    #[cfg(feature = "demo")] demo_parts: Option<(DemoDatabase, Arc<DemoWarmer>)>,
) -> Result<Router> {
    let api = perfkit_axum::ApiConfig { admin_token, program, ..settings.api.clone() };
    #[cfg_attr(not(feature = "demo"), allow(unused_mut))]
    let mut router =
        perfkit_axum::router(service.clone(), api).context("the admin API refused its settings")?;
    #[cfg(feature = "demo")]
    if let (Some(demo_settings), Some((database, warmer))) = (&settings.demo, demo_parts) {
        router =
            router.merge(demo::routes(service, database, demo_settings, jobs.clone(), &warmer));
    }
    // The whole server is perfkit's, so its 404s are perfkit's JSON too; the router alone
    // leaves paths outside its prefix to the host.
    // One `layer` call for the three: axum boxes and clones the wrapped routes per request
    // for each `Router::layer`. Listed outermost first: the metrics see every answer.
    let mut metrics = perfkit_axum::RequestMetricsLayer::new(Arc::clone(service.recorder()));
    if let Some(tracing) = &settings.tracing {
        metrics = metrics.with_tracing(tracing.request_tracing());
    }
    let outer = tower::ServiceBuilder::new()
        .layer(metrics)
        // The demo's answers and the fallback's 404s carry the same headers as perfkit's.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(perfkit_axum::middleware::RESTRICTIVE_CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    let router = router.fallback(|| async { perfkit_axum::ApiError::NotFound }).layer(outer);
    #[cfg(feature = "leak-stream-descriptors")]
    let router = crate::leak::keep_stream_descriptors(router);
    // Outermost, so a preflight is answered before routing; absent unless origins are listed.
    Ok(match security::cors_layer(&settings.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    })
}

fn cache_name(settings: &CacheSettings) -> &'static str {
    match settings {
        CacheSettings::Memory(_) => "memory",
        CacheSettings::Redis { near: Some(_), .. } => "redis with a near cache",
        CacheSettings::Redis { near: None, .. } => "redis",
    }
}
