//! A checkout library as a team would write one: it knows only the `metrics` facade and
//! emits a counter with labels, a gauge and a histogram, each described. Whichever recorder
//! the process installs receives them; perfkit's tests install perfkit's and check that every
//! figure arrives.
//!
//! ```
//! checkout_library::describe();
//! checkout_library::checkout("eu", true, 42.5);
//! ```

/// Describes the library's series (help text and unit), as a library does once at start.
pub fn describe() {
    metrics::describe_counter!("checkouts", "Checkouts by region and outcome.");
    metrics::describe_gauge!("carts_open", "Shopping carts open now.");
    metrics::describe_histogram!(
        "checkout_value",
        metrics::Unit::Count,
        "Value of a completed checkout, in euros."
    );
}

/// Records one checkout in `region`: counted by outcome; a completed one records its value.
pub fn checkout(region: &str, completed: bool, value: f64) {
    let outcome = if completed { "ok" } else { "failed" };
    metrics::counter!("checkouts", "region" => region.to_owned(), "outcome" => outcome)
        .increment(1);
    if completed {
        metrics::histogram!("checkout_value", "region" => region.to_owned()).record(value);
    }
}

/// Sets how many carts are open.
#[allow(clippy::cast_precision_loss)]
pub fn carts_open(count: u64) {
    metrics::gauge!("carts_open").set(count as f64);
}
