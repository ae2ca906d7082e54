//! Wiring: the cache the settings name, the performance service over it, the perfkit API
//! router (plus the demo routes) behind the request-metrics layer, then serving until a
//! signal and stopping in order.

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::http::{HeaderValue, header};
use perfkit::PerformanceService;
use perfkit::cache::{CacheBackend, MemoryCache, RedisCache};
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::admin_token;
use crate::config::{CacheSettings, Settings};
use crate::demo;
use crate::security;
use crate::shutdown::{self, Drain};

/// Runs the server until SIGINT or SIGTERM: binds first (so a taken address fails before
/// anything starts), builds and starts the service, serves, drains, stops the service.
pub(crate) async fn run(settings: Settings) -> Result<()> {
    let listener = TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("cannot listen on {}", settings.bind))?;
    let address = listener.local_addr().context("cannot read the bound address")?;
    let (token, origin) = admin_token::choose(settings.admin_token.as_ref())?;
    admin_token::announce(&token, origin);

    let service = build_service(&settings).await?;
    let router = build_router(&service, &settings, token.0);
    service.start();
    tracing::info!(
        %address,
        url = %format!("http://{address}/"),
        cache = cache_name(&settings.cache),
        demo = settings.demo.is_some(),
        "perfkit-server listening"
    );

    let stop = async {
        match shutdown::signal().await {
            Ok(name) => tracing::info!(signal = name, "shutting down: draining requests"),
            Err(error) => tracing::error!(%error, "cannot wait for signals; shutting down"),
        }
    };
    let drained = shutdown::serve_until(listener, router, stop, settings.shutdown_grace).await;
    if let Ok(Drain::TimedOut) = drained {
        tracing::warn!(grace = ?settings.shutdown_grace, "requests still open after the grace period were dropped");
    }
    service.shutdown().await;
    tracing::info!("perfkit-server stopped");
    drained.map(|_| ())
}

/// The cache the settings name, connected.
pub(crate) async fn build_cache(settings: &CacheSettings) -> Result<Arc<dyn CacheBackend>> {
    Ok(match settings {
        CacheSettings::Memory(config) => Arc::new(MemoryCache::new(config.clone())),
        CacheSettings::Redis(config) => Arc::new(
            RedisCache::connect(config.clone())
                .await
                .with_context(|| format!("cannot set up the redis cache at {}", config.url))?,
        ),
    })
}

/// The performance service over the configured cache, rules and optimizer (not started).
pub(crate) async fn build_service(settings: &Settings) -> Result<PerformanceService> {
    PerformanceService::builder()
        .config(settings.service.clone())
        .cache(build_cache(&settings.cache).await?)
        .alert_rules(settings.alert_rules.clone())
        .optimizer_config(settings.optimizer.clone())
        .build()
        .context("cannot build the performance service")
}

/// The whole HTTP surface: the perfkit API, the demo routes when enabled, and the request
/// metrics layer over both (so the demo's requests are measured like any host app's).
pub(crate) fn build_router(
    service: &PerformanceService,
    settings: &Settings,
    admin_token: String,
) -> Router {
    let api = perfkit_axum::ApiConfig { admin_token, ..settings.api.clone() };
    let mut router = perfkit_axum::router(service.clone(), api);
    if let Some(demo) = settings.demo {
        router = router.merge(demo::routes(service, demo));
    }
    // The whole server is perfkit's, so its 404s are perfkit's JSON too; the router alone
    // leaves paths outside its prefix to the host.
    let router = router
        .fallback(|| async { perfkit_axum::ApiError::NotFound })
        // The demo's answers and the fallback's 404s carry the same headers as perfkit's.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(perfkit_axum::middleware::RESTRICTIVE_CSP),
        ))
        .layer(perfkit_axum::RequestMetricsLayer::new(Arc::clone(service.recorder())));
    // Outermost, so a preflight is answered before routing; absent unless origins are listed.
    match security::cors_layer(&settings.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

fn cache_name(settings: &CacheSettings) -> &'static str {
    match settings {
        CacheSettings::Memory(_) => "memory",
        CacheSettings::Redis(_) => "redis",
    }
}
