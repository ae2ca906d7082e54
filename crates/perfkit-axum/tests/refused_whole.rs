//! An invalid update is refused whole: a config or rule set that is partly valid changes
//! nothing, and the one running before stays in force, exactly.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::Method;
use serde_json::{Value, json};
use support::{Call, app, path, send};

#[tokio::test]
async fn a_config_with_one_bad_value_changes_none_of_its_good_ones() {
    let (service, app) = app().await;
    let get = Call::get(&path("/optimization/config"));
    let mut running = send(&app, get.clone()).await.json();
    running["mode"]["auto"] = json!(!running["mode"]["auto"].as_bool().unwrap());
    let put = |body: &Value| {
        Call::new(Method::PUT, &path("/optimization/config")).admin().json(&body.to_string())
    };
    assert_eq!(send(&app, put(&running)).await.status, 200, "a valid update is applied");
    let before = send(&app, get.clone()).await.json();
    assert_eq!(before, running);

    let mut mixed = before.clone();
    mixed["mode"]["auto"] = json!(!before["mode"]["auto"].as_bool().unwrap()); // good
    mixed["mode"]["dryRun"] = json!(!before["mode"]["dryRun"].as_bool().unwrap()); // good
    let section = mixed.as_object_mut().unwrap().values_mut().find_map(|section| {
        let threshold = section.get_mut("hitRateThreshold")?;
        *threshold = json!(7.5); // bad: a rate above 1
        Some(())
    });
    assert!(section.is_some(), "a section with hitRateThreshold: {mixed}");
    let answer = send(&app, put(&mixed)).await;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(answer.text().contains("hitRateThreshold"), "{}", answer.text());
    assert_eq!(send(&app, get).await.json(), before, "nothing of the refused update applied");
    assert_eq!(serde_json::to_value(service.parts().optimizer.config()).unwrap(), before);
}

#[tokio::test]
async fn a_rule_set_with_one_bad_rule_adds_none_of_the_good_ones() {
    let (service, app) = app().await;
    let rule = |name: &str, threshold: f64| {
        json!({"name": name, "severity": "low", "kind": "threshold", "metric": "p95",
               "comparison": "above", "threshold": threshold})
    };
    let put = |rules: Vec<Value>| {
        Call::new(Method::PUT, &path("/alerts/rules"))
            .admin()
            .json(&json!({ "rules": rules }).to_string())
    };
    let answer = send(&app, put(vec![rule("first", 100.0), rule("second", 200.0)])).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let before = send(&app, Call::get(&path("/alerts/rules"))).await.json();

    let mut bad = rule("broken", 1.0);
    bad["comparison"] = json!("sideways");
    let update = vec![rule("third", 1.0), rule("fourth", 2.0), bad, rule("fifth", 3.0)];
    let answer = send(&app, put(update)).await;
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(answer.text().contains("broken"), "the problem names the rule: {}", answer.text());
    let after = send(&app, Call::get(&path("/alerts/rules"))).await.json();
    assert_eq!(after, before, "the running rules stay, whole");
    let names: Vec<String> =
        service.parts().alerts.rules().rules.iter().map(|r| r.name.clone()).collect();
    assert_eq!(names, ["first", "second"]);
}
