//! The command line: flags only. Environment variables and the config file are read in
//! `config`, which puts the three layers in order.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::logging::LogFormat;
use crate::runtime::Runtime;

/// perfkit-server: the perfkit HTTP API, a Prometheus endpoint and a live view of this
/// process, over an in-memory or Redis cache.
///
/// Each setting is taken from its flag, else its environment variable, else the config
/// file, else the default. The admin token is never a flag (flags show in `ps`): set
/// PERFKIT_ADMIN_TOKEN or `server.adminToken` in the config file, or let the server make one
/// at start-up and log it once.
#[derive(Debug, Default, Clone, Parser)]
#[command(name = "perfkit-server", version)]
pub(crate) struct Cli {
    /// TOML config file (sections server, cache, api, demo, service, optimizer, alerts,
    /// notifiers, tracing)
    /// [env: PERFKIT_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Address to listen on; any but loopback needs a configured admin token
    /// [env: PERFKIT_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub(crate) bind: Option<SocketAddr>,

    /// Use Redis as the cache, e.g. redis://127.0.0.1:6379/0 [env: PERFKIT_REDIS_URL]
    /// [default: the in-memory cache]
    #[arg(long, value_name = "URL")]
    pub(crate) redis_url: Option<String>,

    /// With --redis-url: no near cache, every read goes to Redis (by default hot reads are
    /// served from a bounded in-process front kept coherent by Redis's invalidation messages)
    /// [env: PERFKIT_NEAR_CACHE=false]
    #[arg(long)]
    pub(crate) no_near_cache: bool,

    /// Prefix of every Redis key this server writes, reads and deletes
    /// [env: PERFKIT_NAMESPACE] [default: perfkit:]
    #[arg(long, value_name = "PREFIX")]
    pub(crate) namespace: Option<String>,

    /// Add the example workload: GET /api/posts?page=N&limit=M, GET and POST
    /// /api/users/{id}/posts, cached in front of a real database (SQLite in --data-dir, or
    /// PostgreSQL with --database-url) [env: PERFKIT_DEMO]
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub(crate) demo: Option<bool>,

    /// This instance's id among the servers sharing one Redis, 1 to 64 letters, digits,
    /// dashes, underscores, dots or colons [env: PERFKIT_INSTANCE_ID] [default:
    /// service.instance in the config file, else the host name and the port: host:8080]
    #[arg(long, value_name = "ID")]
    pub(crate) instance_id: Option<String>,
    /// The demo's PostgreSQL database, e.g. postgres://user@127.0.0.1:5432/blog
    /// [env: PERFKIT_DATABASE_URL] [default: an embedded SQLite file in --data-dir]
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,

    /// A read replica of --database-url (repeat for several): the demo's reads go to a
    /// replica in rotation, its writes to the primary [env: PERFKIT_READ_DATABASE_URL,
    /// comma-separated]
    #[arg(long, value_name = "URL")]
    pub(crate) read_database_url: Vec<String>,

    /// Where the demo's SQLite database is created and seeded on first start
    /// [env: PERFKIT_DATA_DIR] [default: perfkit-data]
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Log lines as JSON objects or for people [env: PERFKIT_LOG_FORMAT] [default: pretty]
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub(crate) log_format: Option<LogFormat>,

    /// The tokio runtime: multi-thread (a worker per core, or TOKIO_WORKER_THREADS) or
    /// current-thread (every task on one thread) [env: PERFKIT_RUNTIME]
    /// [default: multi-thread]
    #[arg(long, value_name = "RUNTIME", value_enum)]
    pub(crate) runtime: Option<Runtime>,

    /// Longest wait for a request head, from a connection's accept or a later request's
    /// first byte; then the connection is closed [env: PERFKIT_HEADER_READ_TIMEOUT]
    /// [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) header_read_timeout: Option<Duration>,

    /// Longest a kept-alive connection may stay with no request in flight before it is closed
    /// [env: PERFKIT_KEEP_ALIVE_TIMEOUT] [default: 75s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) keep_alive_timeout: Option<Duration>,

    /// Most connections open at once; one more is accepted and closed at once
    /// [env: PERFKIT_MAX_CONNECTIONS] [default: 10000]
    #[arg(long, value_name = "N")]
    pub(crate) max_connections: Option<usize>,

    /// Send traces (request spans, cache reads, statements, perfkit's runs) to an
    /// OpenTelemetry collector over OTLP/HTTP; on by itself when an endpoint is given
    /// [env: PERFKIT_TRACING; OTEL_SDK_DISABLED=true turns it off] [default: off]
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub(crate) tracing: Option<bool>,

    /// The collector's OTLP/HTTP base URL; /v1/traces is added
    /// [env: OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given]
    /// [default: http://localhost:4318]
    #[arg(long, value_name = "URL")]
    pub(crate) otlp_endpoint: Option<String>,

    /// How traces are sampled: always_on, always_off, traceidratio, parentbased_always_on,
    /// parentbased_always_off or parentbased_traceidratio [env: OTEL_TRACES_SAMPLER]
    /// [default: parentbased_always_on]
    #[arg(long, value_name = "NAME")]
    pub(crate) traces_sampler: Option<String>,

    /// The ratio of the ratio samplers, 0 to 1 (alone: parentbased_traceidratio)
    /// [env: OTEL_TRACES_SAMPLER_ARG]
    #[arg(long, value_name = "RATIO")]
    pub(crate) traces_sampler_arg: Option<f64>,

    /// Keep the span of an unsampled request slower than this
    /// [env: PERFKIT_TRACE_KEEP_SLOWER_THAN] [default: none]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) trace_keep_slower_than: Option<Duration>,

    /// Post alerts to this Alertmanager (its base URL; repeat for several); replaces the
    /// config file's [[notifiers.alertmanagers]]
    /// [env: PERFKIT_ALERTMANAGER_URL, comma-separated]
    #[arg(long, value_name = "URL")]
    pub(crate) alertmanager_url: Vec<String>,

    /// Post alert notifications to this webhook, Alertmanager's webhook body (repeat for
    /// several); replaces the config file's [[notifiers.webhooks]]. Their bearer token comes
    /// from PERFKIT_WEBHOOK_TOKEN [env: PERFKIT_WEBHOOK_URL, comma-separated]
    #[arg(long, value_name = "URL")]
    pub(crate) webhook_url: Vec<String>,
}

/// A duration as the config file writes it in text: humantime (`30s`, `1m 15s`, `250ms`),
/// through the same parser.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text.trim());
    perfkit::core::duration::deserialize(text).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn reads_every_flag() {
        let cli = Cli::try_parse_from([
            "perfkit-server",
            "--config",
            "perfkit.toml",
            "--bind",
            "0.0.0.0:9000",
            "--redis-url",
            "redis://127.0.0.1:6380",
            "--namespace",
            "app:",
            "--no-near-cache",
            "--demo",
            "--log-format",
            "json",
            "--alertmanager-url",
            "http://am1:9093",
            "--alertmanager-url",
            "http://am2:9093",
            "--webhook-url",
            "http://hook/x",
            "--instance-id",
            "api-1",
            "--header-read-timeout",
            "5s",
            "--keep-alive-timeout",
            "1m 15s",
            "--max-connections",
            "500",
            "--runtime",
            "current-thread",
        ])
        .unwrap();
        assert_eq!(cli.alertmanager_url, ["http://am1:9093", "http://am2:9093"]);
        assert_eq!(cli.webhook_url, ["http://hook/x"]);
        assert_eq!(cli.config, Some(PathBuf::from("perfkit.toml")));
        assert_eq!(cli.bind, Some("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(cli.redis_url.as_deref(), Some("redis://127.0.0.1:6380"));
        assert_eq!(cli.namespace.as_deref(), Some("app:"));
        assert!(cli.no_near_cache);
        assert_eq!(cli.demo, Some(true));
        assert_eq!(cli.log_format, Some(LogFormat::Json));
        assert_eq!(cli.instance_id.as_deref(), Some("api-1"));
        assert_eq!(cli.header_read_timeout, Some(Duration::from_secs(5)));
        assert_eq!(cli.keep_alive_timeout, Some(Duration::from_secs(75)));
        assert_eq!(cli.max_connections, Some(500));
        assert_eq!(cli.runtime, Some(Runtime::CurrentThread));
    }

    #[test]
    fn demo_takes_an_optional_value_and_absent_flags_stay_unset() {
        let off = Cli::try_parse_from(["perfkit-server", "--demo=false"]).unwrap();
        assert_eq!(off.demo, Some(false));
        let none = Cli::try_parse_from(["perfkit-server"]).unwrap();
        assert_eq!((none.demo, none.bind, none.log_format), (None, None, None));
    }

    #[test]
    fn refuses_bad_values_with_a_usage_error() {
        for args in [
            &["perfkit-server", "--bind", "not-an-address"][..],
            &["perfkit-server", "--log-format", "xml"],
            &["perfkit-server", "--demo=maybe"],
            &["perfkit-server", "--no-such-flag"],
            &["perfkit-server", "--header-read-timeout", "soon"],
            &["perfkit-server", "--max-connections", "-1"],
            &["perfkit-server", "--runtime", "green-threads"],
        ] {
            let error = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}: {error}");
        }
    }

    #[test]
    fn help_names_every_environment_variable() {
        let help = Cli::command().render_long_help().to_string();
        for variable in [
            "PERFKIT_CONFIG",
            "PERFKIT_BIND",
            "PERFKIT_REDIS_URL",
            "PERFKIT_NAMESPACE",
            "PERFKIT_NEAR_CACHE",
            "PERFKIT_DEMO",
            "PERFKIT_LOG_FORMAT",
            "PERFKIT_ADMIN_TOKEN",
            "PERFKIT_ALERTMANAGER_URL",
            "PERFKIT_WEBHOOK_URL",
            "PERFKIT_WEBHOOK_TOKEN",
            "PERFKIT_INSTANCE_ID",
            "PERFKIT_DATABASE_URL",
            "PERFKIT_READ_DATABASE_URL",
            "PERFKIT_DATA_DIR",
            "PERFKIT_HEADER_READ_TIMEOUT",
            "PERFKIT_KEEP_ALIVE_TIMEOUT",
            "PERFKIT_MAX_CONNECTIONS",
            "PERFKIT_RUNTIME",
            "TOKIO_WORKER_THREADS",
            "PERFKIT_TRACING",
            "PERFKIT_TRACE_KEEP_SLOWER_THAN",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_SAMPLER_ARG",
            "OTEL_SDK_DISABLED",
        ] {
            assert!(help.contains(variable), "{variable} missing from --help:\n{help}");
        }
    }
}
