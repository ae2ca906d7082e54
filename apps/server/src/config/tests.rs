//! The precedence table and every section of the config file.
use std::collections::HashMap;

use clap::Parser;

use super::*;
use crate::demo::settings::{DEFAULT_DATA_DIR, DatabaseChoice, HotSettings, PoolSettings, Ttls};

/// Environment variables as name-value pairs.
type Env<'a> = &'a [(&'a str, &'a str)];
/// Flags, environment, config file text, and what the setting must come out as.
type Case<'a> = (&'a [&'a str], Env<'a>, &'a str, &'a str);

fn settings(args: &[&str], env: &[(&str, &str)], file: &str) -> Result<Settings> {
    let cli = Cli::try_parse_from(std::iter::once("perfkit-server").chain(args.iter().copied()))?;
    let env: HashMap<String, String> =
        env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let var = move |name: &str| env.get(name).cloned();
    resolve(Layer::from_cli(&cli), Layer::from_env(&var)?, FileConfig::parse(file)?)
}

/// One setting's four layers: the flag, the environment variable, the file's line, and
/// what each resulting `Settings` must show.
struct Setting {
    flag: [&'static str; 2],
    env: (&'static str, &'static str),
    file: &'static str,
    shown: fn(&Settings) -> String,
    from_flag: &'static str,
    from_env: &'static str,
    from_file: &'static str,
    default: &'static str,
}

fn redis_url(settings: &Settings) -> String {
    match &settings.cache {
        CacheSettings::Redis { redis, .. } => redis.url.clone(),
        CacheSettings::Memory(_) => "memory".to_owned(),
    }
}

fn namespace(settings: &Settings) -> String {
    match &settings.cache {
        CacheSettings::Redis { redis, .. } => redis.namespace.clone(),
        CacheSettings::Memory(_) => "memory".to_owned(),
    }
}

const SETTINGS: &[Setting] = &[
    Setting {
        flag: ["--bind", "127.0.0.1:1001"],
        env: ("PERFKIT_BIND", "127.0.0.1:1002"),
        file: "[server]\nbind = \"127.0.0.1:1003\"",
        shown: |s| s.bind.to_string(),
        from_flag: "127.0.0.1:1001",
        from_env: "127.0.0.1:1002",
        from_file: "127.0.0.1:1003",
        default: "127.0.0.1:8080",
    },
    Setting {
        flag: ["--redis-url", "redis://flag:1"],
        env: ("PERFKIT_REDIS_URL", "redis://env:2"),
        file: "[cache]\nredisUrl = \"redis://file:3\"",
        shown: redis_url,
        from_flag: "redis://flag:1",
        from_env: "redis://env:2",
        from_file: "redis://file:3",
        default: "memory",
    },
    Setting {
        flag: ["--log-format", "json"],
        env: ("PERFKIT_LOG_FORMAT", "pretty"),
        file: "[server]\nlogFormat = \"json\"",
        shown: |s| format!("{:?}", s.log_format),
        from_flag: "Json",
        from_env: "Pretty",
        from_file: "Json",
        default: "Pretty",
    },
    Setting {
        flag: ["--demo=true", "--log-format=pretty"],
        env: ("PERFKIT_DEMO", "false"),
        file: "[demo]\nenabled = true",
        shown: |s| s.demo.is_some().to_string(),
        from_flag: "true",
        from_env: "false",
        from_file: "true",
        default: "false",
    },
    Setting {
        flag: ["--header-read-timeout", "1s"],
        env: ("PERFKIT_HEADER_READ_TIMEOUT", "2s"),
        file: "[server]\nheaderReadTimeout = \"3s\"",
        shown: |s| format!("{:?}", s.connections.header_read_timeout),
        from_flag: "1s",
        from_env: "2s",
        from_file: "3s",
        default: "60s",
    },
    Setting {
        flag: ["--keep-alive-timeout", "1s"],
        env: ("PERFKIT_KEEP_ALIVE_TIMEOUT", "2s"),
        file: "[server]\nkeepAliveTimeout = \"3s\"",
        shown: |s| format!("{:?}", s.connections.keep_alive_timeout),
        from_flag: "1s",
        from_env: "2s",
        from_file: "3s",
        default: "75s",
    },
    Setting {
        flag: ["--max-connections", "1"],
        env: ("PERFKIT_MAX_CONNECTIONS", "2"),
        file: "[server]\nmaxConnections = 3",
        shown: |s| s.connections.max_connections.to_string(),
        from_flag: "1",
        from_env: "2",
        from_file: "3",
        default: "10000",
    },
    Setting {
        flag: ["--runtime", "current-thread"],
        env: ("PERFKIT_RUNTIME", "multi-thread"),
        file: "[server]\nruntime = \"current-thread\"",
        shown: |s| s.runtime.as_str().to_owned(),
        from_flag: "current-thread",
        from_env: "multi-thread",
        from_file: "current-thread",
        default: "multi-thread",
    },
    Setting {
        flag: ["--otlp-endpoint", "http://flag:4318"],
        env: ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318/"),
        file: "[tracing]\nendpoint = \"http://file:4318\"",
        shown: traces_endpoint,
        from_flag: "http://flag:4318/v1/traces",
        from_env: "http://env:4318/v1/traces",
        from_file: "http://file:4318/v1/traces",
        default: "off",
    },
    Setting {
        flag: ["--traces-sampler-arg", "0.1"],
        env: ("OTEL_TRACES_SAMPLER_ARG", "0.2"),
        file: "[tracing]\nenabled = true\nsamplerArg = 0.3",
        shown: |s| {
            s.tracing.as_ref().map_or("off".to_owned(), |t| format!("{:?}", t.export.sampler))
        },
        from_flag: "ParentBasedTraceIdRatio(0.1)",
        from_env: "ParentBasedTraceIdRatio(0.2)",
        from_file: "ParentBasedTraceIdRatio(0.3)",
        default: "off",
    },
    Setting {
        flag: ["--trace-keep-slower-than", "1s"],
        env: ("PERFKIT_TRACE_KEEP_SLOWER_THAN", "2s"),
        file: "[tracing]\nenabled = true\nkeepSlowerThan = \"3s\"",
        shown: |s| {
            s.tracing.as_ref().map_or("off".to_owned(), |t| format!("{:?}", t.keep_slower_than))
        },
        from_flag: "Some(1s)",
        from_env: "Some(2s)",
        from_file: "Some(3s)",
        default: "off",
    },
];

fn traces_endpoint(settings: &Settings) -> String {
    settings.tracing.as_ref().map_or("off".to_owned(), |t| t.export.endpoint.clone())
}

#[test]
fn tracing_is_on_when_asked_or_given_an_endpoint_and_off_the_standard_ways() {
    let on = settings(&["--tracing"], &[], "").unwrap().tracing.unwrap();
    assert_eq!(on.export.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(on.export.service_name, "perfkit-server");
    assert!(on.keep_errors);
    let endpoint = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom");
    assert_eq!(traces_endpoint(&settings(&[], &[endpoint], "").unwrap()), endpoint.1);
    for off in [
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("PERFKIT_TRACING", "false"),
    ] {
        let resolved = settings(&[], &[endpoint, off], "[tracing]\nenabled = true").unwrap();
        assert!(resolved.tracing.is_none(), "{off:?}");
    }
    // A flag still beats the environment.
    let resolved =
        settings(&["--tracing=true"], &[endpoint, ("PERFKIT_TRACING", "false")], "").unwrap();
    assert!(resolved.tracing.is_some());
}

#[test]
fn the_service_name_resource_and_sampler_come_through_the_layers() {
    let file = "[tracing]\nenabled = true\nserviceName = \"file-name\"\nsampler = \"traceidratio\"\n\
                samplerArg = 0.5\nresourceAttributes = { team = \"blue\" }\nqueueCapacity = 16\n\
                exportTimeout = \"500ms\"\nmaxKeptPerSecond = 7\nkeepErrors = false";
    let from_file = settings(&[], &[], file).unwrap().tracing.unwrap();
    assert_eq!(from_file.export.service_name, "file-name");
    assert_eq!(from_file.export.sampler, perfkit_otel::SamplerSetting::TraceIdRatio(0.5));
    assert_eq!(from_file.export.resource_attributes, [("team".to_owned(), "blue".to_owned())]);
    assert_eq!((from_file.export.queue_capacity, from_file.export.max_batch), (16, 16));
    assert_eq!(from_file.export.export_timeout, Duration::from_millis(500));
    assert_eq!((from_file.max_kept_per_second, from_file.keep_errors), (7, false));
    let tracing = from_file.request_tracing();
    assert_eq!((tracing.sample_ratio(), tracing.is_parent_based()), (0.5, false));

    let env = [
        ("OTEL_SERVICE_NAME", "env-name"),
        ("OTEL_RESOURCE_ATTRIBUTES", "team=red"),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_off"),
    ];
    let from_env = settings(&[], &env, file).unwrap().tracing.unwrap();
    assert_eq!(from_env.export.service_name, "env-name");
    assert_eq!(from_env.export.resource_attributes, [("team".to_owned(), "red".to_owned())]);
    // The environment's sampler with the file's argument: always_off takes none.
    assert_eq!(from_env.export.sampler, perfkit_otel::SamplerSetting::ParentBasedAlwaysOff);
    let from_flag =
        settings(&["--traces-sampler", "always_on"], &env, file).unwrap().tracing.unwrap();
    assert_eq!(from_flag.export.sampler, perfkit_otel::SamplerSetting::AlwaysOn);
}

#[test]
fn the_trace_url_reaches_the_dashboard_and_the_alert_engine_s_settings() {
    let template = "http://jaeger:16686/trace/{traceId}";
    let file = format!("[tracing]\ntraceUrl = \"{template}\"");
    let resolved = settings(&[], &[], &file).unwrap();
    assert_eq!(resolved.trace_url.as_ref().map(|url| url.as_str()), Some(template));
    assert_eq!(resolved.api.dashboard.trace_url, resolved.trace_url);
    assert!(resolved.tracing.is_none(), "a link template does not turn tracing on");
    assert_eq!(settings(&[], &[], "").unwrap().trace_url, None);
}

#[test]
fn bad_tracing_settings_are_refused_by_name() {
    for (args, env, file, named) in [
        (
            &["--traces-sampler", "sometimes"][..],
            &[][..],
            "[tracing]\nenabled = true",
            "--traces-sampler",
        ),
        (
            &[],
            &[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "7")],
            "",
            "OTEL_TRACES_SAMPLER",
        ),
        (&["--otlp-endpoint", "https://collector:4318"], &[], "", "https is not supported"),
        (
            &[],
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
            "",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ),
        (&[], &[("PERFKIT_TRACING", "maybe")], "", "PERFKIT_TRACING"),
        (&[], &[], "[tracing]\nenabled = true\nqueueCapacity = 0", "queueCapacity"),
        (&[], &[], "[tracing]\nenabled = true\nexportTimeout = \"2m\"", "exportTimeout"),
        (
            &[],
            &[],
            "[tracing]\nenabled = true\nmaxKeptPerSecond = 1000000",
            "tracing.maxKeptPerSecond",
        ),
        (&[], &[], "[tracing]\nsampling = 1", "unknown field `sampling`"),
        (&[], &[], "[tracing]\ntraceUrl = \"ftp://jaeger/{traceId}\"", "tracing.traceUrl"),
        (&[], &[], "[tracing]\ntraceUrl = \"http://jaeger/trace/\"", "{traceId} is missing"),
    ] {
        let error = settings(args, env, file).map(|_| ()).unwrap_err();
        assert!(format!("{error:#}").contains(named), "{named}: {error:#}");
    }
}

#[test]
fn connection_limits_out_of_range_are_refused_by_name() {
    for (args, env, file, named) in [
        (&["--header-read-timeout", "0s"][..], &[][..], "", "server.headerReadTimeout"),
        (&[], &[("PERFKIT_KEEP_ALIVE_TIMEOUT", "2h")], "", "server.keepAliveTimeout"),
        (&[], &[], "[server]\nmaxConnections = 0", "server.maxConnections"),
        (&[], &[("PERFKIT_MAX_CONNECTIONS", "many")], "", "PERFKIT_MAX_CONNECTIONS"),
        (&[], &[("PERFKIT_HEADER_READ_TIMEOUT", "soon")], "", "PERFKIT_HEADER_READ_TIMEOUT"),
    ] {
        let error = settings(args, env, file).unwrap_err();
        assert!(format!("{error:#}").contains(named), "{named}: {error:#}");
    }
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    for setting in SETTINGS {
        let cases: [Case<'_>; 5] = [
            (&setting.flag, &[setting.env], setting.file, setting.from_flag),
            (&setting.flag, &[], setting.file, setting.from_flag),
            (&[], &[setting.env], setting.file, setting.from_env),
            (&[], &[], setting.file, setting.from_file),
            (&[], &[], "", setting.default),
        ];
        for (args, env, file, expected) in cases {
            let resolved = settings(args, env, file).unwrap();
            assert_eq!(
                (setting.shown)(&resolved),
                expected,
                "flags {args:?}, env {env:?}, file {file:?}"
            );
        }
    }
}

#[test]
fn namespace_follows_the_same_precedence_under_redis() {
    let redis = ("PERFKIT_REDIS_URL", "redis://127.0.0.1:6379");
    let file = "[cache]\nnamespace = \"file:\"";
    let cases: [Case<'_>; 4] = [
        (&["--namespace", "flag:"], &[redis, ("PERFKIT_NAMESPACE", "env:")], file, "flag:"),
        (&[], &[redis, ("PERFKIT_NAMESPACE", "env:")], file, "env:"),
        (&[], &[redis], file, "file:"),
        (&[], &[redis], "", "perfkit:"),
    ];
    for (args, env, file, expected) in cases {
        let resolved = settings(args, env, file).unwrap();
        assert_eq!(namespace(&resolved), expected, "flags {args:?}, env {env:?}");
    }
}

#[test]
fn the_near_cache_is_on_with_redis_unless_a_layer_turns_it_off() {
    let near = |s: &Settings| match &s.cache {
        CacheSettings::Redis { near, .. } => near.map(|n| (n.max_bytes, n.ttl)),
        CacheSettings::Memory(_) => panic!("not redis: {:?}", s.cache),
    };
    let redis = ("PERFKIT_REDIS_URL", "redis://127.0.0.1:6379");
    let default = NearCacheConfig::default();
    assert_eq!(near(&settings(&[], &[redis], "").unwrap()), Some((default.max_bytes, default.ttl)));
    let sized = "[cache]\nnearCacheMaxBytes = 1048576\nnearCacheTtl = \"2s\"";
    let from_file = near(&settings(&[], &[redis], sized).unwrap());
    assert_eq!(from_file, Some((1 << 20, Duration::from_secs(2))));
    let on_in_env = [redis, ("PERFKIT_NEAR_CACHE", "true")];
    assert_eq!(near(&settings(&["--no-near-cache"], &on_in_env, "").unwrap()), None);
    assert_eq!(near(&settings(&[], &[redis, ("PERFKIT_NEAR_CACHE", "off")], "").unwrap()), None);
    let off_in_file = "[cache]\nnearCache = false";
    assert_eq!(near(&settings(&[], &[redis], off_in_file).unwrap()), None);
    assert!(near(&settings(&[], &on_in_env, off_in_file).unwrap()).is_some(), "env beats file");
    // Without Redis there is nothing to be near: the flag is accepted and changes nothing.
    let memory = settings(&["--no-near-cache"], &[], "").unwrap();
    assert_eq!(memory.cache, CacheSettings::Memory(server_memory_default()));
}

#[test]
fn the_admin_token_comes_from_the_environment_then_the_file_else_none() {
    let file = "[server]\nadminToken = \"token-from-the-file\"";
    let token = |s: &Settings| s.admin_token.as_ref().map(|t| t.0.clone());
    let env = [("PERFKIT_ADMIN_TOKEN", "token-from-the-environment")];
    assert_eq!(
        token(&settings(&[], &env, file).unwrap()).as_deref(),
        Some("token-from-the-environment")
    );
    assert_eq!(token(&settings(&[], &[], file).unwrap()).as_deref(), Some("token-from-the-file"));
    assert_eq!(token(&settings(&[], &[("PERFKIT_ADMIN_TOKEN", "")], "").unwrap()), None);
    assert!(
        !format!("{:?}", settings(&[], &env, "").unwrap()).contains("token-from-the-environment")
    );
}

#[test]
fn every_section_is_read() {
    let file = r#"
        [server]
        shutdownGrace = 2500
        [cache]
        redisUrl = "redis://127.0.0.1:7000"
        redisPoolSize = 8
        commandTimeout = 250
        defaultTtl = 0
        [api]
        protectReads = true
        bodyLimit = 1024
        requestTimeout = 5000
        [demo]
        enabled = true
        dataDir = "/var/lib/blog"
        poolSize = 4
        pageTtl = 1000
        userPostsTtl = 2000
        accessWindow = "12h"
        ttlPerAccess = "30s"
        maxTtl = "2h"
        warmKeys = 20
        readAhead = true
        [service]
        collectInterval = 1000
        [optimizer]
        mode = { auto = false, dryRun = true }
        [[alerts.rules]]
        name = "slow"
        severity = "high"
        kind = "threshold"
        metric = "p95"
        comparison = "above"
        threshold = 500
    "#;
    let s = settings(&[], &[], file).unwrap();
    assert_eq!(s.shutdown_grace, Duration::from_millis(2500));
    let CacheSettings::Redis { redis, .. } = &s.cache else { panic!("not redis: {:?}", s.cache) };
    assert_eq!((redis.pool_size, redis.default_ttl), (8, None));
    assert_eq!(redis.command_timeout, Duration::from_millis(250));
    assert_eq!(
        s.api,
        ApiConfig {
            protect_reads: true,
            body_limit: 1024,
            request_timeout: Duration::from_secs(5),
            // The demo is on and the file names no series: the demo's.
            dashboard: dashboard_config(&DashboardSection::default(), true).unwrap(),
            ..ApiConfig::default()
        }
    );
    assert_eq!(
        s.demo,
        Some(DemoSettings {
            database: DatabaseChoice::Sqlite("/var/lib/blog".into()),
            pool: PoolSettings { size: 4, acquire_timeout: Duration::from_secs(2) },
            ttls: Ttls { page: Duration::from_secs(1), user_posts: Duration::from_secs(2) },
            hot: HotSettings {
                window: Duration::from_secs(12 * 3600),
                per_access: Duration::from_secs(30),
                max_ttl: Duration::from_secs(7200),
                warm_keys: 20,
                saved: "/var/lib/blog/hot-keys.json".into(),
            },
            read_ahead: true,
            read_database_urls: Vec::new(),
        })
    );
    assert_eq!(s.service.collect_interval, Duration::from_secs(1));
    assert!(!s.optimizer.mode.auto && s.optimizer.mode.dry_run);
    assert_eq!(s.alert_rules.rules.len(), 1);
    assert_eq!(s.alert_rules.rules[0].name, "slow");
}

#[test]
fn the_demo_database_is_sqlite_in_the_data_dir_unless_a_postgres_url_is_given() {
    let sqlite = settings(&["--demo"], &[], "").unwrap().demo.unwrap();
    assert_eq!(sqlite.database, DatabaseChoice::Sqlite(DEFAULT_DATA_DIR.into()));
    assert_eq!(
        sqlite.ttls,
        Ttls { page: Duration::from_secs(300), user_posts: Duration::from_secs(600) }
    );
    let moved = settings(&["--demo"], &[("PERFKIT_DATA_DIR", "/srv/data")], "").unwrap();
    assert_eq!(moved.demo.unwrap().database, DatabaseChoice::Sqlite("/srv/data".into()));
    let url = "postgres://blog@127.0.0.1:5433/blog";
    let postgres = settings(&["--demo", "--database-url", url], &[], "").unwrap();
    assert_eq!(postgres.demo.unwrap().database, DatabaseChoice::Postgres(url.to_owned()));
    let error = settings(&["--demo", "--database-url", "mysql://x"], &[], "").unwrap_err();
    assert!(error.to_string().contains("postgres://"), "{error:#}");
    let replica = "postgres://blog@127.0.0.1:5434/blog";
    let flags = ["--demo", "--database-url", url, "--read-database-url", replica];
    let replicated = settings(&flags, &[], "").unwrap().demo.unwrap();
    assert_eq!(replicated.read_database_urls, [replica]);
    let from_env = settings(
        &["--demo", "--database-url", url],
        &[("PERFKIT_READ_DATABASE_URL", "postgres://a/b, postgres://c/d")],
        "[demo]\nreadDatabaseUrls = [\"postgres://file/x\"]",
    );
    assert_eq!(
        from_env.unwrap().demo.unwrap().read_database_urls,
        ["postgres://a/b", "postgres://c/d"]
    );
    let error = settings(&["--demo", "--read-database-url", replica], &[], "").unwrap_err();
    assert!(error.to_string().contains("need a PostgreSQL"), "{error:#}");
    let error = settings(&["--demo"], &[], "[demo]\npoolSize = 0").unwrap_err();
    assert!(error.to_string().contains("demo.poolSize"), "{error:#}");
}

#[test]
fn defaults_are_the_documented_ones() {
    let s = settings(&[], &[], "").unwrap();
    assert_eq!(s.bind, DEFAULT_BIND);
    assert_eq!(s.cache, CacheSettings::Memory(server_memory_default()));
    assert_eq!(s.api, ApiConfig::default());
    assert_eq!(s.demo, None);
    assert_eq!(s.alert_rules, RuleSet::default());
    assert!(s.service.instance.ends_with(":8080"), "{}", s.service.instance);
    assert_eq!(
        s.service,
        ServiceConfig { instance: s.service.instance.clone(), ..ServiceConfig::default() }
    );
}

#[test]
fn bad_input_is_refused_with_a_message_naming_it() {
    let cases: &[(Env<'_>, &str, &str)] = &[
        (&[("PERFKIT_BIND", "nowhere")], "", "PERFKIT_BIND"),
        (&[("PERFKIT_DEMO", "maybe")], "", "PERFKIT_DEMO"),
        (&[("PERFKIT_LOG_FORMAT", "xml")], "", "PERFKIT_LOG_FORMAT"),
        (&[("PERFKIT_NEAR_CACHE", "perhaps")], "", "PERFKIT_NEAR_CACHE"),
        (
            &[("PERFKIT_REDIS_URL", "redis://x")],
            "[cache]\nnearCacheMaxBytes = 0",
            "nearCacheMaxBytes",
        ),
        (&[], "[cache]\nnearCacheTtl = \"soon\"", "nearCacheTtl"),
        (&[], "[server]\nbnd = \"x\"", "unknown field"),
        (&[], "[server]\nbind = 8080", "bind"),
        (&[], "not toml at all", "expected"),
        (&[], "[service]\ncollectInterval = 1", "collectInterval"),
        (&[], "[optimizer.cacheOptimization]\nhitRateThreshold = 2.0", "hitRateThreshold"),
        (&[], "[[alerts.rules]]\nname = \"x\"", "rule x"),
        (&[], "[api]\nbodyLimit = 0", "bodyLimit"),
        (&[], "[api]\nrequestTimeout = \"0s\"", "requestTimeout"),
        (&[], "[api]\nadminToken = \"x\"", "unknown field `adminToken`"),
        (&[], "[service]\ncollectInterval = \"3 parsecs\"", "collectInterval"),
        (&[], "[cache]\ncommandTimeout = -5", "commandTimeout"),
        (&[], "[server]\nshutdownGrace = 2.5", "shutdownGrace"),
        (&[], "service = []", "invalid type: sequence"),
        (
            &[("PERFKIT_REDIS_URL", "redis://x"), ("PERFKIT_NAMESPACE", " ")],
            "[cache]\nnamespace = \"\"",
            "namespace",
        ),
    ];
    for (env, file, needle) in cases {
        let error = settings(&[], env, file).expect_err(needle);
        let message = format!("{error:#}");
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[test]
fn a_missing_config_file_is_an_error_naming_the_file() {
    let cli = Cli { config: Some("/no/such/perfkit.toml".into()), ..Cli::default() };
    let error = load(&cli, &|_| None).unwrap_err();
    assert!(format!("{error:#}").contains("/no/such/perfkit.toml"), "{error:#}");
}

#[test]
fn the_config_file_is_found_through_the_environment_and_a_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (env_file, flag_file) = (dir.path().join("env.toml"), dir.path().join("flag.toml"));
    std::fs::write(&env_file, "[server]\nbind = \"127.0.0.1:2001\"").unwrap();
    std::fs::write(&flag_file, "[server]\nbind = \"127.0.0.1:2002\"").unwrap();
    let env_path = env_file.display().to_string();
    let var = move |name: &str| (name == "PERFKIT_CONFIG").then(|| env_path.clone());
    let from_env = load(&Cli::default(), &var).unwrap();
    assert_eq!(from_env.bind.port(), 2001);
    let cli = Cli { config: Some(flag_file), ..Cli::default() };
    assert_eq!(load(&cli, &var).unwrap().bind.port(), 2002);
}

#[test]
fn the_source_is_the_file_else_the_environment_and_flags_else_the_defaults() {
    assert_eq!(source(&Cli::default(), &|_| None), "defaults");
    let token = |name: &str| (name == "PERFKIT_ADMIN_TOKEN").then(|| "x".repeat(32));
    assert_eq!(source(&Cli::default(), &token), "environment and flags");
    let cli = Cli { demo: Some(true), ..Cli::default() };
    assert_eq!(source(&cli, &|_| None), "environment and flags");
    let cli = Cli { config: Some("/etc/perfkit.toml".into()), ..cli };
    assert_eq!(source(&cli, &token), "/etc/perfkit.toml");
    let named = |name: &str| (name == "PERFKIT_CONFIG").then(|| "/srv/perfkit.toml".to_owned());
    assert_eq!(source(&Cli::default(), &named), "/srv/perfkit.toml");
}

#[test]
fn durations_read_as_humantime_text_or_whole_milliseconds_in_every_section() {
    let as_text = r#"
        [server]
        shutdownGrace = "2s 500ms"
        [cache]
        redisUrl = "redis://127.0.0.1:7000"
        connectTimeout = "3s"
        commandTimeout = "250ms"
        defaultTtl = "5m"
        [api]
        requestTimeout = "5s"
        [demo]
        enabled = true
        pageTtl = "5ms"
        userPostsTtl = "1s"
        [service]
        collectInterval = "30s"
        [optimizer.cooldowns]
        scaleWorkers = "90s"
        [[alerts.rules]]
        name = "slow"
        severity = "high"
        kind = "threshold"
        metric = "p95"
        comparison = "above"
        threshold = 500
        for = "1m"
    "#;
    let as_millis = r#"
        [server]
        shutdownGrace = 2500
        [cache]
        redisUrl = "redis://127.0.0.1:7000"
        connectTimeout = 3000
        commandTimeout = 250
        defaultTtl = 300000
        [api]
        requestTimeout = 5000
        [demo]
        enabled = true
        pageTtl = 5
        userPostsTtl = 1000
        [service]
        collectInterval = 30000
        [optimizer.cooldowns]
        scaleWorkers = 90000
        [[alerts.rules]]
        name = "slow"
        severity = "high"
        kind = "threshold"
        metric = "p95"
        comparison = "above"
        threshold = 500
        for = 60000
    "#;
    for file in [as_text, as_millis] {
        let s = settings(&[], &[], file).unwrap();
        assert_eq!(s.shutdown_grace, Duration::from_millis(2500));
        let CacheSettings::Redis { redis, .. } = &s.cache else {
            panic!("not redis: {:?}", s.cache)
        };
        assert_eq!(redis.connect_timeout, Duration::from_secs(3));
        assert_eq!(redis.command_timeout, Duration::from_millis(250));
        assert_eq!(redis.default_ttl, Some(Duration::from_secs(300)));
        assert_eq!(s.api.request_timeout, Duration::from_secs(5));
        let demo = s.demo.unwrap();
        assert_eq!(
            demo.ttls,
            Ttls { page: Duration::from_millis(5), user_posts: Duration::from_secs(1) }
        );
        assert_eq!(s.service.collect_interval, Duration::from_secs(30));
        assert_eq!(s.optimizer.cooldowns.scale_workers, Duration::from_secs(90));
        assert_eq!(s.alert_rules.rules[0].for_duration, Duration::from_secs(60));
    }
}

#[test]
fn a_bad_duration_is_a_clear_error_naming_the_field() {
    let error = settings(&[], &[], "[service]\ncollectInterval = \"often\"").unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("collectInterval"), "{message}");
    assert!(message.contains(r#"invalid duration "often""#), "{message}");
    assert!(
        message.contains(r#"expected a duration such as "30s" or integer milliseconds"#),
        "{message}"
    );
}

#[test]
fn a_weak_admin_token_or_a_bad_api_prefix_is_a_settings_error_naming_it() {
    for weak in ["short", "aaaaaaaaaaaaaaaaaaaaaaaa"] {
        let error = settings(&[], &[("PERFKIT_ADMIN_TOKEN", weak)], "").unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("PERFKIT_ADMIN_TOKEN or server.adminToken"), "{message}");
        assert!(message.contains("weak"), "{message}");
        assert!(!message.contains(weak), "the token itself is never shown: {message}");
    }
    let error = settings(&[], &[], "[api]\napiPrefix = \"no-slash\"").unwrap_err();
    assert!(format!("{error:#}").contains("api.apiPrefix"), "{error:#}");
    // No token configured: one is generated later, so only the prefix is checked.
    assert!(settings(&[], &[], "[api]\napiPrefix = \"/ops/api\"").is_ok());
}

fn business_metrics(settings: &Settings) -> Vec<String> {
    settings.api.dashboard.business_metrics.iter().map(ToString::to_string).collect()
}

#[test]
fn the_dashboards_business_metrics_are_read_in_selector_form() {
    let file = "[dashboard]\nbusinessMetrics = [\"orders_placed\", 'page_reads{ depth = \"1\" }']";
    let s = settings(&[], &[], file).unwrap();
    assert_eq!(business_metrics(&s), ["orders_placed", r#"page_reads{depth="1"}"#]);
    // Absent: none without the demo, the demo's three with it; given (even empty): as given.
    assert!(business_metrics(&settings(&[], &[], "").unwrap()).is_empty());
    let demo = settings(&["--demo"], &[], "").unwrap();
    assert_eq!(
        business_metrics(&demo),
        ["demo_posts_created", "demo_page_reads", "demo_post_body_bytes"]
    );
    let none = settings(&["--demo"], &[], "[dashboard]\nbusinessMetrics = []").unwrap();
    assert!(business_metrics(&none).is_empty());
}

#[test]
fn the_demo_adds_its_series_rule_to_the_default_rules_only() {
    let names =
        |s: &Settings| s.alert_rules.rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let plain = settings(&[], &[], "").unwrap();
    let demo = settings(&["--demo"], &[], "").unwrap();
    assert_eq!(demo.alert_rules.rules.len(), plain.alert_rules.rules.len() + 1);
    assert_eq!(names(&demo).last().map(String::as_str), Some("demo_deep_page_reads"));
    assert!(!names(&plain).contains(&"demo_deep_page_reads".to_owned()));
    let own = "[[alerts.rules]]\nname = \"slow\"\nseverity = \"high\"\nkind = \"threshold\"\n\
               metric = \"p95\"\ncomparison = \"above\"\nthreshold = 500";
    assert_eq!(
        names(&settings(&["--demo"], &[], own).unwrap()),
        ["slow"],
        "the file's rules alone"
    );
}

#[test]
fn a_bad_business_metric_is_a_settings_error_naming_the_field_and_the_entry() {
    for (file, said) in [
        ("[dashboard]\nbusinessMetrics = [\"ok\", \"posts-created\"]", "not a series name"),
        ("[dashboard]\nbusinessMetrics = ['reads{depth=1}']", "double quotes"),
    ] {
        let message = format!("{:#}", settings(&[], &[], file).unwrap_err());
        assert!(message.contains("dashboard.businessMetrics["), "{message}");
        assert!(message.contains(said), "{message}");
    }
    let many = format!("[dashboard]\nbusinessMetrics = [{}]", vec!["\"a\""; 17].join(", "));
    let message = format!("{:#}", settings(&[], &[], &many).unwrap_err());
    assert!(message.contains("dashboard.businessMetrics has 17 entries, at most 16"), "{message}");
    let message = format!("{:#}", settings(&[], &[], "[dashboard]\nshow = 1").unwrap_err());
    assert!(message.contains("unknown field `show`"), "{message}");
}

#[test]
fn business_caps_and_buckets_are_read_and_bad_ones_named() {
    let file = "[business]\nmaxSeriesPerName = 10\nbuckets = { checkout_value = [10, 50, 100] }";
    let business = settings(&[], &[], file).unwrap().business;
    assert_eq!(business.max_series_per_name, 10);
    assert_eq!(business.buckets["checkout_value"], [10.0, 50.0, 100.0]);
    assert_eq!(
        settings(&[], &[], "").unwrap().business,
        perfkit::metrics::BusinessConfig::default()
    );
    for (file, said) in [
        (
            "[business]\nmaxSeriesPerName = 0",
            "business.maxSeriesPerName must be in 1..=100000, got 0",
        ),
        (
            "[business]\nbuckets = { sizes = [100, 10] }",
            "business.buckets.sizes: bucket bounds must be strictly increasing",
        ),
        ("[business]\nbuckets = { sizes = [] }", "business.buckets.sizes: give 1..=64"),
        ("[business]\nmaxLabels = 3", "unknown field `maxLabels`"),
    ] {
        let message = format!("{:#}", settings(&[], &[], file).unwrap_err());
        assert!(message.contains(said), "{message}");
    }
}

#[test]
fn the_api_table_cannot_set_the_admin_token() {
    let error = settings(&[], &[], "[api]\nadminToken = \"sneaky\"").unwrap_err();
    assert!(format!("{error:#}").contains("unknown field `adminToken`"), "{error:#}");
    let file = "[server]\nadminToken = \"kept-token-kept-token\"\n[api]\nprotectReads = true";
    let s = settings(&[], &[], file).unwrap();
    assert_eq!(s.admin_token.map(|t| t.0).as_deref(), Some("kept-token-kept-token"));
    assert!(s.api.admin_token.is_empty(), "the router's token is set in wiring, from admin_token");
}

#[test]
fn notifier_urls_come_from_flags_then_environment_then_the_file() {
    let file = "[notifiers]\nlog = false\n[[notifiers.alertmanagers]]\nurl = \"http://file:9093\"\n\
                [[notifiers.webhooks]]\nurl = \"http://file/hook\"\nbearerToken = \"file-token\"\n";
    let urls = |s: &Settings| {
        let am: Vec<_> = s.notifiers.alertmanagers.iter().map(|t| t.url.clone()).collect();
        let hooks: Vec<_> = s
            .notifiers
            .webhooks
            .iter()
            .map(|t| (t.url.clone(), t.bearer_token.clone().unwrap_or_default()))
            .collect();
        (am, hooks)
    };
    let from_file = settings(&[], &[], file).unwrap();
    assert_eq!(
        urls(&from_file),
        (
            vec!["http://file:9093".to_owned()],
            vec![("http://file/hook".into(), "file-token".into())]
        )
    );
    let env = [
        ("PERFKIT_ALERTMANAGER_URL", "http://env1:9093, http://env2:9093"),
        ("PERFKIT_WEBHOOK_URL", "http://env/hook"),
        ("PERFKIT_WEBHOOK_TOKEN", "env-token"),
    ];
    let from_env = settings(&[], &env, file).unwrap();
    assert_eq!(
        urls(&from_env),
        (
            vec!["http://env1:9093".to_owned(), "http://env2:9093".to_owned()],
            vec![("http://env/hook".into(), "env-token".into())]
        )
    );
    let from_flag = settings(&["--alertmanager-url", "http://flag:9093"], &env, file).unwrap();
    assert_eq!(urls(&from_flag).0, ["http://flag:9093"]);
    let names: Vec<String> =
        from_flag.notifiers.build().unwrap().iter().map(|(n, _)| n.name().to_owned()).collect();
    assert_eq!(names, ["webhook-1", "alertmanager-1"]);
    let error = settings(&["--alertmanager-url", "not-a-url"], &[], "").unwrap_err();
    assert!(format!("{error:#}").contains("http:// or https://"), "{error:#}");
}

#[test]
fn inhibit_rules_are_read_and_checked_and_unknown_alert_fields_refused() {
    let file = "[[alerts.inhibitRules]]\nsourceMatchers = [{ label = \"severity\", anyOf = [\"critical\"] }]\n\
                targetMatchers = [{ label = \"severity\", anyOf = [\"low\"], negated = true }]\nequal = [\"metric\"]\n";
    let read = settings(&[], &[], file).unwrap();
    assert_eq!(read.inhibit_rules.len(), 1);
    assert!(read.inhibit_rules[0].target_matchers[0].negated);
    assert_eq!(read.alert_rules, RuleSet::default());
    assert_eq!(settings(&[], &[], "").unwrap().inhibit_rules, InhibitRule::defaults());
    let empty = "[[alerts.inhibitRules]]\nsourceMatchers = []\ntargetMatchers = []\n";
    let error = format!("{:#}", settings(&[], &[], empty).unwrap_err());
    assert!(error.contains("inhibit rule #0"), "{error}");
    let unknown = format!("{:#}", settings(&[], &[], "[alerts]\nrule = []\n").unwrap_err());
    assert!(unknown.contains("unknown field `rule`"), "{unknown}");
}

#[test]
fn the_instance_id_is_the_host_and_port_unless_one_is_given() {
    let default = settings(&["--bind", "127.0.0.1:9123"], &[], "").unwrap();
    assert!(default.service.instance.ends_with(":9123"), "{}", default.service.instance);
    assert_eq!(
        default.service.instance,
        settings(&["--bind", "127.0.0.1:9123"], &[], "").unwrap().service.instance,
        "a restart is the same instance"
    );
    let from_file = settings(&[], &[], "[service]\ninstance = \"api-3\"").unwrap();
    assert_eq!(from_file.service.instance, "api-3");
    let from_flag =
        settings(&["--instance-id", "api-1"], &[], "[service]\ninstance = \"api-3\"").unwrap();
    assert_eq!(from_flag.service.instance, "api-1");
}

#[test]
fn a_build_without_the_demo_refuses_every_demo_setting_by_name() {
    assert!(refuse_demo(&Layer::default()).is_ok());
    assert!(refuse_demo(&Layer { demo: Some(false), ..Layer::default() }).is_ok());
    for (layer, named) in [
        (Layer { demo: Some(true), ..Layer::default() }, "--demo"),
        (
            Layer { database_url: Some("postgres://h/db".into()), ..Layer::default() },
            "--database-url",
        ),
        (Layer { data_dir: Some("/srv".into()), ..Layer::default() }, "--data-dir"),
    ] {
        let message = refuse_demo(&layer).unwrap_err().to_string();
        assert!(message.starts_with(named), "{message}");
        assert!(message.contains("built without the demo"), "{message}");
    }
}

/// The in-memory cache the server runs by default: the library's, with key prefixes counted
/// two segments deep (the demo's keys start with the app's own name).
fn server_memory_default() -> MemoryConfig {
    MemoryConfig {
        key_prefixes: perfkit::cache::KeyPrefixConfig { depth: 2, ..Default::default() },
        ..MemoryConfig::default()
    }
}
