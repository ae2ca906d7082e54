//! The read paths of `/summary`, `/dashboard` and the health probes take no lock that all
//! requests share (docs/ARCHITECTURE.md's invariant), and the prepared answers follow every
//! change: a collection, an admin write.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::mpsc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use support::{Call, app, path, send};

/// How long the probes may take while the state lock is held: a hang guard, not a timing.
const HANG_GUARD: Duration = Duration::from_secs(5);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn read_paths_answer_while_the_service_state_is_locked() {
    let (holder, app) = runtime().block_on(async {
        let (service, app) = app().await;
        // Prepared once, as the first request after a collection does.
        for rest in ["/summary", "/dashboard"] {
            assert_eq!(send(&app, Call::get(&path(rest))).await.status, StatusCode::OK);
        }
        (service, app)
    });

    // Another thread holds the state's lock until told to let go.
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let locker = std::thread::spawn(move || {
        holder.with_state_locked(|| {
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
    });
    locked_rx.recv().unwrap();

    // The requests run on a thread of their own: if one waited on the lock, it would block
    // its thread, and only a guard outside that thread can notice.
    let (answers_tx, answers_rx) = mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(async {
            for rest in ["/health/live", "/health/ready", "/health", "/summary", "/dashboard"] {
                let answer = send(&app, Call::get(&path(rest))).await;
                answers_tx.send((rest, answer.status)).unwrap();
            }
        });
    });
    let mut answered = Vec::new();
    for _ in 0..5 {
        match answers_rx.recv_timeout(HANG_GUARD) {
            Ok(answer) => answered.push(answer),
            Err(_) => {
                panic!("a read path waited on the service's state lock; answered: {answered:?}")
            }
        }
    }
    release_tx.send(()).unwrap();
    locker.join().unwrap();

    assert_eq!(
        answered,
        [
            ("/health/live", StatusCode::OK),
            ("/health/ready", StatusCode::OK),
            // Not started: the collector is not running, which is unhealthy.
            ("/health", StatusCode::SERVICE_UNAVAILABLE),
            ("/summary", StatusCode::OK),
            ("/dashboard", StatusCode::OK),
        ]
    );
}

#[tokio::test]
async fn prepared_answers_follow_collections_and_admin_writes() {
    let (service, app) = app().await;
    let first = send(&app, Call::get(&path("/summary"))).await.json();
    let again = send(&app, Call::get(&path("/summary"))).await.json();
    assert_eq!(first, again, "no change, the same prepared answer");

    // A collection: the next summary carries the new snapshot.
    let snapshot = service.collect_now().await;
    let summary = send(&app, Call::get(&path("/summary"))).await.json();
    assert_ne!(summary["snapshot"]["timestamp"], first["snapshot"]["timestamp"]);
    assert_eq!(
        summary["snapshot"]["timestamp"],
        serde_json::to_value(snapshot.timestamp).unwrap(),
        "{summary}"
    );

    // An admin write through the API: the next dashboard shows it.
    let dashboard = send(&app, Call::get(&path("/dashboard"))).await.json();
    let auto = dashboard["optimization"]["auto"].as_bool().unwrap();
    let call = Call::new(Method::PUT, &path("/optimization/auto"))
        .admin()
        .json(&format!(r#"{{"enabled": {}}}"#, !auto));
    let answer = send(&app, call).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let dashboard = send(&app, Call::get(&path("/dashboard"))).await.json();
    assert_eq!(dashboard["optimization"]["auto"], !auto, "{dashboard}");
}
