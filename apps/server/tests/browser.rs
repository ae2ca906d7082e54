//! The dashboard in a real browser: headless Chromium, driven over WebDriver, against the
//! real `perfkit-server --demo`.
//!
//! Needs `chromium` and `chromium-driver` (Debian); `cargo xtask ci` installs them. Set
//! `PERFKIT_SCREENSHOTS=1` to rewrite the screenshots in `docs/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use perfkit::core::{MetricsSnapshot, Timestamp};
use perfkit_testing::{OtlpAnswer, OtlpReceiver, RedisServer, unique_namespace};
use serde_json::{Value, json};
use support::webdriver::{Browser, ChromeDriver};
use support::{Server, redis_command};

const TOKEN: &str = "browser-test-admin-token";
const ARROW_RIGHT: &str = "\u{E014}";
const HOME: &str = "\u{E011}";
/// Where the dashboard links a trace id (`tracing.traceUrl`).
const TRACE_URL: &str = "http://jaeger.example:16686/trace/{traceId}";
/// Snapshots restored into the server whose load time is measured.
const HISTORY_POINTS: usize = 1000;

/// Requests of the demo's kinds, some cached, some not, some failing, until aborted.
async fn demo_traffic(client: reqwest::Client, base: String) {
    for round in 0_u64.. {
        let path = match round % 7 {
            0..=2 => format!("/api/posts?page={}&limit=10", round % 4 + 1),
            3..=4 => format!("/api/users/{}/posts", round % 5 + 1),
            5 => format!("/api/posts?page={}&limit=5", round % 40 + 1),
            _ => "/api/users/not-a-number/posts".to_owned(),
        };
        let _ = client.get(format!("{base}{path}")).send().await;
        // The rate rises and falls, so the charts have a shape to show.
        let pause = 10.0 + 25.0 * (1.0 + (round as f64 / 150.0).sin());
        tokio::time::sleep(Duration::from_millis(pause as u64)).await;
    }
}

fn write_config(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

async fn text_of(browser: &Browser, id: &str) -> String {
    browser
        .run("return document.getElementById(arguments[0]).textContent", json!([id]))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Saves a PNG of the whole page (the window grown to the page's height) into `docs/`.
async fn save_screenshot(browser: &Browser, name: &str, width: u32) {
    if std::env::var_os("PERFKIT_SCREENSHOTS").is_none() {
        return;
    }
    browser.run("document.activeElement?.blur(); window.scrollTo(0, 0)", json!([])).await;
    // The window is grown until the viewport holds the whole page (the window's frame
    // takes a few pixels of its height).
    for _ in 0..3 {
        let sizes = browser
            .run("return [document.documentElement.scrollHeight, window.innerHeight, window.outerHeight]", json!([]))
            .await;
        let (page, inner, outer) =
            (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap(), sizes[2].as_u64().unwrap());
        if inner >= page {
            break;
        }
        let height = u32::try_from(page + outer.saturating_sub(inner)).unwrap().min(4000);
        browser.resize(width, height).await;
    }
    browser.run("window.scrollTo(0, 0)", json!([])).await;
    // Let layout and paint settle after the resize before the capture.
    browser
        .wait_for("a frame after the resize", "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        .await;
    let png = browser.screenshot().await;
    let path = format!("{}/../../docs/dashboard-{name}.png", env!("CARGO_MANIFEST_DIR"));
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {path}");
    browser.resize(width, 900).await;
}

/// The targets table, availability and uptime included, shows the server's figures: each
/// row's value is that of the summary's snapshot, found in the history by its
/// time (the page computes none of them).
async fn targets_come_from_the_api(browser: &Browser) {
    let checked = browser
        .run(
            "return (async () => { \
             const body = document.getElementById('targets-body'); \
             const at = body.dataset.snapshot; \
             const history = await (await fetch('/api/performance/history?limit=1000')).json(); \
             const snapshot = history.find(s => s.timestamp === at); \
             if (!snapshot) return `no snapshot at ${at}`; \
             const rows = [...body.querySelectorAll('tr[data-metric]')]; \
             const wrong = rows.filter(r => { \
               const value = snapshot[r.dataset.metric]; \
               return typeof value === 'number' ? Number(r.dataset.value) !== value : r.dataset.value !== undefined; \
             }).map(r => r.dataset.metric); \
             const metrics = rows.map(r => r.dataset.metric).join(','); \
             return wrong.length ? `rows not from the API: ${wrong}` : metrics; })()",
            json!([]),
        )
        .await;
    assert_eq!(
        checked,
        json!("p95,errorRate,cacheHitRate,memoryUsage,cpuUsage,availability,uptime"),
        "the targets are the summary's, availability and uptime included"
    );
}

/// The key figures and the targets are of one moment: each figure both show reads the same,
/// sampled for 4 s (snapshots arrive every second, faster than the page refreshes its
/// summary, so figures from the stream beside targets from the summary would differ).
async fn key_figures_agree_with_the_targets(browser: &Browser) {
    let differing = browser
        .run(
            "return (async () => { \
             const card = (m) => document.querySelector(`#key-figures [data-metric=\"${m}\"] .figure-value`)?.textContent; \
             const row = (m) => document.querySelector(`#targets-body tr[data-metric=\"${m}\"] td.num`)?.textContent; \
             const seen = []; \
             for (let i = 0; i < 40; i++) { \
               for (const m of ['p95', 'errorRate', 'memoryUsage', 'cpuUsage']) \
                 if (card(m) !== row(m)) seen.push(`${m}: ${card(m)} vs ${row(m)}`); \
               await new Promise(r => setTimeout(r, 100)); \
             } \
             return seen.slice(0, 5); })()",
            json!([]),
        )
        .await;
    assert_eq!(differing, json!([]), "key figures and targets from different snapshots");
}

/// The words beside the score and under the recommendations say what the figures say: a
/// missed target or an active alert is named, never "every check passes" alone, and an
/// empty recommendation list says "nothing to do" only while nothing is off.
async fn words_follow_the_figures(browser: &Browser) {
    let verdict = browser
        .run(
            "const line = document.getElementById('health-line').textContent; \
             const missed = [...document.querySelectorAll('#targets-body tr')] \
               .filter(r => r.querySelector('.met.no')).map(r => r.querySelector('th').textContent); \
             const alerts = Number(document.getElementById('alerts-count').textContent); \
             const recs = document.getElementById('top-recs'); \
             const empty = recs.querySelector('.empty')?.textContent ?? null; \
             const problems = []; \
             for (const name of missed) if (!line.includes(name)) problems.push(`${name} missed, not named`); \
             if (alerts > 0 && !line.includes(`${alerts} alert`)) problems.push('active alerts not named'); \
             if ((missed.length || alerts) && line.includes('every target met')) problems.push('all-clear beside a problem'); \
             if (empty !== null && (missed.length || alerts) && empty.startsWith('Nothing to do')) problems.push(`'${empty}' beside a problem`); \
             return { line, missed, alerts, empty, problems }",
            json!([]),
        )
        .await;
    assert_eq!(verdict["problems"], json!([]), "{verdict}");
    assert!(verdict["alerts"].as_u64().unwrap() > 0, "the demo's alert is active: {verdict}");
}

/// Whether the page is wider than the window (something overflows sideways).
async fn overflows_sideways(browser: &Browser) -> Value {
    browser
        .run(
            "if (document.documentElement.scrollWidth <= window.innerWidth + 1) return false; \
             return [...document.querySelectorAll('body *')] \
               .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1) \
               .slice(0, 6).map(e => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`)",
            json!([]),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser() {
    let driver = ChromeDriver::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Every request traced to a receiver, and a trace URL template for the slowest routes.
    let receiver = OtlpReceiver::start(OtlpAnswer::Accept).unwrap();
    let config = write_config(
        &dir,
        "fast.toml",
        &format!("[service]\ncollectInterval = 500\n[tracing]\ntraceUrl = \"{TRACE_URL}\"\n"),
    );
    let endpoint = receiver.base_url();
    let server = Server::start(
        &["--demo", "--config", &config],
        &[("PERFKIT_ADMIN_TOKEN", TOKEN), ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    );
    let client = reqwest::Client::new();
    server.wait_for_health(&client).await;
    let traffic = tokio::spawn(demo_traffic(client.clone(), server.base.clone()));
    add_an_alert_rule_the_demo_fires(&client, &server).await;

    let browser = driver.session(1280, 900).await;
    browser.goto(&server.url("/")).await;

    // The score and the key figures are filled in.
    browser
        .wait_for(
            "the score",
            "return document.body.dataset.ready === 'true' \
             && /^[0-9]+$/.test(document.getElementById('score-value').textContent)",
        )
        .await;
    browser
        .wait_for(
            "the key figures",
            "const values = [...document.querySelectorAll('#key-figures .figure-value')]; \
             return values.length === 8 && values.filter(v => v.textContent !== '—').length >= 5",
        )
        .await;
    browser
        .wait_for("the targets", "return document.querySelectorAll('#targets-body tr').length >= 6")
        .await;
    // Process uptime, from the service's start, beside the targets.
    browser
        .wait_for(
            "the process uptime",
            "const row = [...document.querySelectorAll('#targets-body tr')] \
               .find(r => r.querySelector('th')?.textContent === 'Process uptime'); \
             return row && /[0-9]/.test(row.querySelector('td.num').textContent)",
        )
        .await;
    targets_come_from_the_api(&browser).await;
    key_figures_agree_with_the_targets(&browser).await;
    browser
        .wait_for(
            "the interval the figures cover",
            "return /^Figures of the .* interval .* · next closes at /.test(document.getElementById('interval-line').textContent)",
        )
        .await;

    // The footer names the build, from /info, with the uptime ticking.
    browser
        .wait_for("the build in the footer", "return document.body.dataset.buildInfo === 'shown'")
        .await;
    let footer = text_of(&browser, "build-info").await;
    let named = format!("perfkit-server {} (", env!("CARGO_PKG_VERSION"));
    assert!(footer.starts_with(&named), "{footer}");
    assert!(footer.contains(") · up ") && footer.contains(" · rustc "), "{footer}");

    // The alert the demo's traffic fires is listed with its severity and since when.
    browser
        .wait_for(
            "the active alert",
            "const item = document.querySelector('#alerts-list .item'); \
             return item && item.querySelector('.severity-low') && item.querySelector('time') \
               && item.textContent.includes('Busy demo')",
        )
        .await;

    words_follow_the_figures(&browser).await;

    // A live update arrives without a reload.
    browser.run("window.notReloaded = true", json!([])).await;
    let seen = browser.run("return Number(document.body.dataset.snapshots || 0)", json!([])).await;
    browser
        .wait_for(
            "a live snapshot",
            &format!(
                "return window.notReloaded === true \
                 && Number(document.body.dataset.snapshots || 0) > {seen} \
                 && document.body.dataset.live === 'live'"
            ),
        )
        .await;

    // Monitoring stops and starts again.
    browser.click("#monitor-toggle").await;
    browser.wait_for("monitoring to stop", "return document.body.dataset.live === 'paused'").await;
    assert_eq!(text_of(&browser, "monitor-toggle").await, "Start monitoring");
    let paused_at = browser.run("return Number(document.body.dataset.snapshots)", json!([])).await;
    browser.click("#monitor-toggle").await;
    browser
        .wait_for(
            "monitoring to resume with a new snapshot",
            &format!(
                "return document.body.dataset.live === 'live' \
                 && Number(document.body.dataset.snapshots) > {paused_at}"
            ),
        )
        .await;

    // Tabs follow the keyboard: ArrowRight to Metrics, where the charts are drawn.
    if std::env::var_os("PERFKIT_SCREENSHOTS").is_some() {
        // Some history (25 s at 500 ms), so the screenshots show charts with a shape.
        browser
            .wait_for(
                "25 s of history",
                "return Number(document.body.dataset.snapshots || 0) >= 50",
            )
            .await;
    }
    browser.run("document.getElementById('tab-overview').focus()", json!([])).await;
    browser.press(ARROW_RIGHT).await;
    browser
        .wait_for(
            "the Metrics tab",
            "return document.activeElement.id === 'tab-metrics' \
             && document.getElementById('tab-metrics').getAttribute('aria-selected') === 'true' \
             && !document.getElementById('panel-metrics').hidden \
             && document.getElementById('panel-overview').hidden",
        )
        .await;
    browser
        .wait_for(
            "a chart with lines",
            "return document.querySelectorAll('#charts svg path.line').length >= 6 \
             && Number(document.getElementById('charts').dataset.points) > 20",
        )
        .await;
    browser
        .wait_for(
            "the slowest routes",
            "return document.querySelectorAll('#routes-body td.route').length > 0",
        )
        .await;
    check_the_slow_trace_links(&browser, &client, &server, &receiver).await;
    save_screenshot(&browser, "metrics", 1280).await;

    // Optimization: a wrong token is refused with the server's 401, the right one runs.
    browser.run("document.getElementById('tab-metrics').focus()", json!([])).await;
    browser.press(ARROW_RIGHT).await;
    browser
        .wait_for(
            "the Optimization tab",
            "return document.activeElement.id === 'tab-optimization' \
             && !document.getElementById('panel-optimization').hidden \
             && document.querySelectorAll('#config-fields input').length > 10",
        )
        .await;
    browser.click("#opt-run").await;
    browser
        .wait_for("the token dialog", "return document.getElementById('token-dialog').open")
        .await;
    browser.type_into("#token-input", "not-the-token").await;
    browser.click("#token-submit").await;
    let refused = browser
        .wait_for(
            "the 401 message",
            "const t = document.getElementById('opt-result').textContent; \
             return t.startsWith('401') && t",
        )
        .await;
    assert!(refused.as_str().unwrap().contains("unauthorized"), "{refused}");

    browser.click("#opt-run").await;
    browser
        .wait_for("the token dialog again", "return document.getElementById('token-dialog').open")
        .await;
    browser.type_into("#token-input", TOKEN).await;
    browser.click("#token-submit").await;
    let ran = browser
        .wait_for(
            "the run's answer",
            "const t = document.getElementById('opt-result').textContent; \
             return t.startsWith('Run #') && t",
        )
        .await;
    let run_id: String =
        ran.as_str().unwrap()[5..].chars().take_while(char::is_ascii_digit).collect();
    browser
        .wait_for(
            "the run in the history",
            &format!(
                "return document.querySelector('#runs-body tr[data-run=\"{run_id}\"]') !== null"
            ),
        )
        .await;
    // A forced run takes every action and shows its before/after figures.
    browser.click("#opt-force").await;
    browser
        .wait_for(
            "a forced run with its actions",
            "return document.querySelectorAll('#runs-body .chip-taken').length > 0",
        )
        .await;
    // The dry-run switch goes through the config and says what it did; so does clearing a prefix.
    browser.click("#opt-dry-run").await;
    browser
        .wait_for(
            "dry run on",
            "return document.getElementById('opt-result').textContent.startsWith('Dry run is on') \
             && document.getElementById('config-mode-dryRun').checked",
        )
        .await;
    browser.click("#opt-dry-run").await;
    browser
        .wait_for(
            "dry run off",
            "return document.getElementById('opt-result').textContent === 'Dry run is off.'",
        )
        .await;
    browser.type_into("#cache-prefix", "demo:users:").await;
    browser.click("#prefix-form button[type=submit]").await;
    browser
        .wait_for(
            "the prefix cleared",
            "return /^Cleared [0-9]+ key/.test(document.getElementById('cache-result').textContent)",
        )
        .await;
    let stored = browser
        .run("return [sessionStorage.getItem('perfkit.adminToken'), localStorage.length, location.href]", json!([]))
        .await;
    assert_eq!(stored[0], TOKEN, "kept in the tab's session storage");
    assert_eq!(stored[1], 0, "nothing in local storage");
    assert!(!stored[2].as_str().unwrap().contains(TOKEN), "never in the URL");

    // The server's validation problems are shown beside their fields.
    browser
        .run(
            "document.getElementById('config-cacheOptimization-hitRateThreshold').value = '7'",
            json!([]),
        )
        .await;
    browser.click("#config-form button[type=submit]").await;
    let problem = browser
        .wait_for(
            "the validation problem beside its field",
            "return document.getElementById('config-cacheOptimization-hitRateThreshold-problem').textContent",
        )
        .await;
    assert!(problem.as_str().unwrap().contains("between 0 and 1"), "{problem}");
    assert!(text_of(&browser, "config-result").await.starts_with("422"));
    browser.click("#config-reload").await;
    save_screenshot(&browser, "optimization", 1280).await;

    // Home goes back to the Overview.
    browser.run("document.getElementById('tab-optimization').focus()", json!([])).await;
    browser.press(HOME).await;
    browser
        .wait_for("the Overview tab", "return !document.getElementById('panel-overview').hidden")
        .await;
    save_screenshot(&browser, "overview", 1280).await;

    // At 360 px nothing overflows sideways, on any tab.
    browser.resize(360, 800).await;
    for tab in ["overview", "metrics", "optimization"] {
        browser.click(&format!("#tab-{tab}")).await;
        let overflow = overflows_sideways(&browser).await;
        assert_eq!(overflow, false, "the {tab} tab is wider than 360 px: {overflow}");
    }
    browser.click("#tab-overview").await;
    save_screenshot(&browser, "narrow", 360).await;
    browser.resize(1280, 900).await;

    // Nothing was fetched from another origin.
    let foreign = browser
        .run(
            "return performance.getEntriesByType('resource').map(e => e.name) \
             .filter(name => !name.startsWith(location.origin + '/'))",
            json!([]),
        )
        .await;
    assert_eq!(foreign, json!([]), "requests to other origins");
    // No script error (a refused request, the wrong token's 401, is logged and expected).
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|message| !message.contains("Failed to load resource"))
        .collect();
    assert!(errors.is_empty(), "errors in the browser console: {errors:#?}");
    traffic.abort();

    measure_load_with_a_full_history(&browser, &client).await;
    browser.quit().await;
}

/// The Business panel and charts against the real `perfkit-server --demo`: the demo's three
/// series (its `[dashboard] businessMetrics` defaults) appear once its handlers emit them and
/// move with the live stream, label values shown as text.
///
/// Past the empty state this needs perfkit installed as the `metrics` facade's recorder (the
/// facade's recorder in perfkit-metrics, installed by the server): without it the demo's
/// figures go nowhere and the panel keeps saying none has been emitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_business_panel_shows_the_demos_series_live() {
    let driver = ChromeDriver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, "fast.toml", "[service]\ncollectInterval = 500\n");
    let server = Server::start(&["--demo", "--config", &config], &[("PERFKIT_ADMIN_TOKEN", TOKEN)]);
    let client = reqwest::Client::new();
    server.wait_for_health(&client).await;

    let browser = driver.session(1280, 900).await;
    browser.goto(&server.url("/")).await;
    // Nothing emitted yet: the panel names the configured series and how to emit one.
    let empty = browser
        .wait_for(
            "the Business panel's empty state",
            "return document.body.dataset.ready === 'true' \
             && document.querySelector('#business-body .business-empty')?.textContent",
        )
        .await;
    let empty = empty.as_str().unwrap();
    for name in ["demo_posts_created", "demo_page_reads", "demo_post_body_bytes"] {
        assert!(empty.contains(name), "{empty}");
    }
    assert!(empty.contains("[dashboard] businessMetrics"), "{empty}");

    // The demo's handlers emit: a post created, pages read at each depth.
    let create_post = || async {
        let answer = client
            .post(server.url("/api/users/3/posts"))
            .json(&json!({ "title": "Business", "body": "x".repeat(300) }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());
    };
    create_post().await;
    for page in [1, 3, 8] {
        let answer = client
            .get(server.url(&format!("/api/posts?page={page}&limit=5")))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let rows = browser
        .wait_for(
            "the demo's series in the Business panel (needs the facade's recorder)",
            "const rows = [...document.querySelectorAll('#business-body tr[data-series]')] \
               .map(r => r.dataset.series); \
             return rows.includes('demo_posts_created') && rows.includes('demo_post_body_bytes') \
               && rows.includes('demo_page_reads{depth=\"6+\"}') && rows",
        )
        .await;
    assert_eq!(
        rows,
        json!([
            "demo_posts_created",
            "demo_page_reads{depth=\"1\"}",
            "demo_page_reads{depth=\"2-5\"}",
            "demo_page_reads{depth=\"6+\"}",
            "demo_post_body_bytes",
        ]),
        "in the configured order, each depth of the page reads"
    );
    let cells = |series: &str| {
        browser.run(
            "const row = [...document.querySelectorAll('#business-body tr')] \
               .find(r => r.dataset.series === arguments[0]); \
             return [...row.querySelectorAll('td, code.series-label')].map(n => n.textContent)",
            json!([series]),
        )
    };
    // The P95 of the last interval that saw a post (the latest may have seen none).
    let p95 = browser
        .wait_for(
            "the body size's P95",
            "const row = document.querySelector('#business-body tr[data-series=\"demo_post_body_bytes\"]'); \
             const cells = [...row.querySelectorAll('td')].map(td => td.textContent); \
             return cells[0] === 'histogram' && /^P95 [0-9.]+ B$/.test(cells[2]) && cells",
        )
        .await;
    assert_eq!(p95[1], "1", "one post so far: {p95}");
    let deep = cells("demo_page_reads{depth=\"6+\"}").await;
    assert_eq!(deep[0], "depth=\"6+\"", "the label, as text: {deep}");
    assert_eq!(deep[1], "counter", "{deep}");
    assert!(deep[3].as_str().unwrap().ends_with("/s"), "a rate per second: {deep}");

    // A second post shows without a reload, from the stream's next snapshot.
    browser.run("window.notReloaded = true", json!([])).await;
    create_post().await;
    browser
        .wait_for(
            "the posts counter at 2, live",
            "const row = document.querySelector('#business-body tr[data-series=\"demo_posts_created\"]'); \
             return window.notReloaded === true && row?.querySelectorAll('td')[1].textContent === '2'",
        )
        .await;

    // The Metrics tab charts each series: a rate for the counters, P50/P95/P99 for the body size.
    browser.click("#tab-metrics").await;
    let charts = browser
        .wait_for(
            "a chart per business series",
            "const charts = [...document.querySelectorAll('#business-charts .business-chart')]; \
             return !document.getElementById('business-charts').hidden && charts.length === 5 \
               && charts.every(c => c.querySelector('svg path.line')) \
               && charts.map(c => c.querySelector('h2').firstChild.textContent)",
        )
        .await;
    assert_eq!(charts[4], "demo_post_body_bytes", "{charts}");
    let legend = browser
        .run(
            "return [...document.querySelectorAll('#business-charts .business-chart')[4] \
               .querySelectorAll('.chart-legend li span:not(.swatch)')].map(s => s.textContent)",
            json!([]),
        )
        .await;
    assert_eq!(legend, json!(["P50", "P95", "P99"]));
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|message| !message.contains("Failed to load resource"))
        .collect();
    assert!(errors.is_empty(), "errors in the browser console: {errors:#?}");
    browser.quit().await;
}

/// Adds a low-severity rule that the demo traffic's throughput crosses at once, so the
/// Overview has an active alert to show.
/// A slowest route's trace: its link is the template with the route's latest slow trace id,
/// opens apart from the page, names a request span of that route the collector received, and
/// the JSON route figures name a trace for the route as well.
async fn check_the_slow_trace_links(
    browser: &Browser,
    client: &reqwest::Client,
    server: &Server,
    receiver: &OtlpReceiver,
) {
    let link = browser
        .wait_for(
            "a slow trace's link",
            "const link = document.querySelector('#routes-body td.trace a'); \
             if (!link) return null; \
             return { href: link.getAttribute('href'), id: link.dataset.traceId, \
                      route: link.closest('tr').querySelector('td.route').textContent, \
                      target: link.target, rel: link.rel, text: link.textContent };",
        )
        .await;
    let id = link["id"].as_str().unwrap();
    let route = link["route"].as_str().unwrap();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{link}");
    assert_eq!(link["href"], TRACE_URL.replace("{traceId}", id), "{link}");
    assert_eq!((&link["target"], &link["rel"]), (&json!("_blank"), &json!("noopener noreferrer")));
    assert_eq!(link["text"], format!("{}…", &id[..8]));
    let application = server.get_json(client, "/api/performance/metrics/application").await;
    let figures = application["routes"]["slowest"].as_array().unwrap();
    let figure = figures.iter().find(|r| r["route"] == route).unwrap_or_else(|| panic!("{route}"));
    assert!(figure["slowTraceId"].as_str().is_some_and(|t| t.len() == 32), "{figure}");
    // The span behind the link reached the collector (exports go out every second).
    let span_name =
        if route == "__unmatched__" { "GET".to_owned() } else { format!("GET {route}") };
    let started = std::time::Instant::now();
    while !receiver.spans().iter().any(|s| s.trace_id() == id && s.span.name == span_name) {
        assert!(started.elapsed() < support::PATIENCE, "no {span_name} span in trace {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn add_an_alert_rule_the_demo_fires(client: &reqwest::Client, server: &Server) {
    let url = server.url("/api/performance/alerts/rules");
    let mut rules: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    rules["rules"].as_array_mut().unwrap().push(json!({
        "name": "busy_demo", "severity": "low", "kind": "threshold", "metric": "throughput",
        "comparison": "above", "threshold": 2.0, "recoveryThreshold": 1.0, "for": "0s",
        "annotations": { "summary": "Throughput is {{ value }} req/s (threshold {{ threshold }})" },
    }));
    let answer = client.put(&url).bearer_auth(TOKEN).json(&rules).send().await.unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
}

/// A restarted server restores 1000 snapshots from Redis (the product's own persistence
/// path), with reads behind the token; the page is loaded with all of them and the time to
/// its first full drawing is read from the Performance API.
async fn measure_load_with_a_full_history(browser: &Browser, client: &reqwest::Client) {
    let redis = RedisServer::start_private();
    let namespace = unique_namespace("browser");
    let history = full_history();
    assert_eq!(
        redis_command(
            redis.port(),
            &[
                "SET",
                &format!("{namespace}{}history:default", perfkit::cache::RESERVED_PREFIX),
                &history
            ]
        ),
        "+OK"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        "persisted.toml",
        "[service]\npersistHistory = true\nhistoryCapacity = 1000\n[api]\nprotectReads = true\n",
    );
    let server = Server::start(
        // Named: the persisted history is kept per instance id, and the default id holds the
        // port, which is a free one each run.
        &[
            "--redis-url",
            redis.url(),
            "--namespace",
            &namespace,
            "--config",
            &config,
            "--instance-id",
            "default",
        ],
        &[("PERFKIT_ADMIN_TOKEN", TOKEN)],
    );
    server.wait_for_health(client).await;
    let token = format!("Bearer {TOKEN}");
    // The history is restored on the collector's first tick, which may follow the health answer.
    let started = std::time::Instant::now();
    loop {
        let restored = client
            .get(server.url("/api/performance/history?limit=1000"))
            .header("authorization", &token)
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap();
        if restored.len() == HISTORY_POINTS {
            break;
        }
        assert!(
            started.elapsed() < support::PATIENCE,
            "the restored history has {} snapshots, not {HISTORY_POINTS}",
            restored.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Reads are protected here: the page asks for the token once (one question for all its
    // requests), then opens the stream with a single-use ticket.
    browser.goto(&server.url("/")).await;
    browser
        .wait_for("the token question", "return document.getElementById('token-dialog').open")
        .await;
    browser.type_into("#token-input", TOKEN).await;
    browser.click("#token-submit").await;
    browser
        .wait_for(
            "the figures and the stream behind the token",
            "return document.body.dataset.ready === 'true' && document.body.dataset.live === 'live' \
             && !document.getElementById('token-dialog').open",
        )
        .await;

    let mut timings = Vec::new();
    let mut sizes = 0.0;
    for _ in 0..3 {
        browser.goto(&server.url("/")).await;
        let measured = browser
            .wait_for(
                "the page drawn with the full history",
                "const mark = performance.getEntriesByName('perfkit:drawn')[0]; \
                 if (!mark) return null; \
                 const assets = performance.getEntriesByType('resource') \
                   .filter(e => new URL(e.name).pathname.startsWith('/assets/')); \
                 const nav = performance.getEntriesByType('navigation')[0]; \
                 const data = performance.getEntriesByType('resource') \
                   .filter(e => e.name.includes('/api/performance/') && e.responseEnd <= mark.startTime) \
                   .reduce((end, e) => Math.max(end, e.responseEnd), 0); \
                 return { drawn: mark.startTime, data, \
                   points: Number(document.getElementById('charts').dataset.points), \
                   bytes: nav.decodedBodySize + assets.reduce((n, e) => n + e.decodedBodySize, 0) }",
            )
            .await;
        assert!(measured["points"].as_f64().unwrap() > 1000.0, "{measured}");
        timings.push((measured["drawn"].as_f64().unwrap(), measured["data"].as_f64().unwrap()));
        sizes = measured["bytes"].as_f64().unwrap();
    }
    timings.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (drawn, data) = timings[1];
    println!(
        "dashboard with {HISTORY_POINTS} history points: loaded and drawn in {drawn:.0} ms \
         (median of 3 loads: {:?} ms; the API's answers were in by {data:.0} ms); \
         page and assets {:.1} KiB",
        timings.iter().map(|t| t.0.round()).collect::<Vec<_>>(),
        sizes / 1024.0
    );
    assert!(sizes < 150.0 * 1024.0, "page and assets are {sizes} bytes");
}

/// 1000 snapshots 30 s apart ending now, shaped like a day of traffic, as the server's
/// history persistence stores them.
fn full_history() -> String {
    let now =
        i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let snapshots: Vec<MetricsSnapshot> = (0..HISTORY_POINTS)
        .map(|i| {
            let step = i as f64;
            let age = i64::try_from(HISTORY_POINTS - i).unwrap() * 30_000;
            let wave = (step / 80.0).sin();
            let ripple = (step / 7.0).sin() * 0.1;
            let mut snapshot = MetricsSnapshot::empty(Timestamp::from_unix_millis(now - age));
            snapshot.response_time = Some(40.0 + 15.0 * wave + 5.0 * ripple);
            snapshot.p50 = Some(35.0 + 12.0 * wave);
            snapshot.p95 = Some(120.0 + 60.0 * wave + 30.0 * ripple);
            snapshot.p99 = Some(240.0 + 90.0 * wave + 50.0 * ripple);
            snapshot.throughput = Some(60.0 + 25.0 * wave);
            snapshot.error_rate = Some((0.004 + 0.003 * ripple.abs() * 10.0).min(0.05));
            snapshot.cache_hit_rate = Some(0.86 + 0.06 * wave);
            snapshot.memory_usage = Some(0.45 + 0.1 * wave);
            snapshot.cpu_usage = Some(0.3 + 0.15 * wave + ripple);
            snapshot.active_connections = Some((12.0 + 8.0 * wave).round());
            snapshot.queue_length = Some((3.0 + 3.0 * wave).max(0.0).round());
            snapshot.request_count = Some((60.0 + 25.0 * wave) * 30.0);
            snapshot
        })
        .collect();
    serde_json::to_string(&snapshots).unwrap()
}
