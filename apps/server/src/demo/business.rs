//! The demo's business figures, emitted through the `metrics` facade from its handlers:
//! posts created, page reads by depth, post body sizes. Whatever recorder the process
//! installed receives them (perfkit's, in perfkit-server); with none installed they cost a
//! few atomic loads and go nowhere.

use std::sync::Once;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use super::series::{PAGE_READS, POST_BODY_BYTES, POSTS_CREATED, depth_label};

/// Describes the series once, at the first figure: by then the server has installed its
/// recorder, whatever the order it built things in (a description given before any recorder
/// is installed is lost).
fn described() {
    static DESCRIBED: Once = Once::new();
    DESCRIBED.call_once(|| {
        describe_counter!(POSTS_CREATED, Unit::Count, "Posts created through the demo's API.");
        describe_counter!(
            PAGE_READS,
            Unit::Count,
            "Pages of /api/posts served, by depth: 1, 2-5 or 6+."
        );
        describe_histogram!(POST_BODY_BYTES, Unit::Bytes, "Body size of each post created.");
    });
}

/// A page of `/api/posts` was served.
pub(crate) fn page_read(page: u32) {
    described();
    counter!(PAGE_READS, "depth" => depth_label(page)).increment(1);
}

/// A post with a body of `body_bytes` was created.
pub(crate) fn post_created(body_bytes: usize) {
    described();
    counter!(POSTS_CREATED).increment(1);
    #[allow(clippy::cast_precision_loss)] // a body is at most a few KiB
    histogram!(POST_BODY_BYTES).record(body_bytes as f64);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use metrics::{Key, KeyName, Label, Metadata, Recorder, SharedString};
    use std::sync::Mutex;

    use super::*;

    /// What a recorder was told: each registered key, and each description's name and unit.
    #[derive(Default)]
    struct Seen {
        keys: Mutex<Vec<String>>,
        described: Mutex<Vec<(String, Option<Unit>)>>,
    }

    struct Capture(Arc<Seen>);

    impl Capture {
        fn key(&self, key: &Key) {
            let labels: Vec<String> = key
                .labels()
                .map(|label: &Label| format!("{}={}", label.key(), label.value()))
                .collect();
            self.0.keys.lock().unwrap().push(format!("{}{labels:?}", key.name()));
        }
        fn describe(&self, name: &KeyName, unit: Option<Unit>) {
            self.0.described.lock().unwrap().push((name.as_str().to_owned(), unit));
        }
    }

    impl Recorder for Capture {
        fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
            self.describe(&key, unit);
        }
        fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
            self.describe(&key, unit);
        }
        fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
            self.describe(&key, unit);
        }
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
            self.key(key);
            metrics::Counter::noop()
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
            self.key(key);
            metrics::Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
            self.key(key);
            metrics::Histogram::noop()
        }
    }

    #[test]
    fn the_handlers_figures_reach_the_recorder_with_bounded_labels() {
        let seen = Arc::new(Seen::default());
        let recorder = Capture(Arc::clone(&seen));
        metrics::with_local_recorder(&recorder, || {
            page_read(1);
            page_read(4);
            page_read(9000);
            post_created(120);
        });
        assert_eq!(
            *seen.keys.lock().unwrap(),
            [
                r#"demo_page_reads["depth=1"]"#,
                r#"demo_page_reads["depth=2-5"]"#,
                r#"demo_page_reads["depth=6+"]"#,
                "demo_posts_created[]",
                "demo_post_body_bytes[]",
            ]
        );
        // Described once per process, at the first figure: here unless another test of this
        // binary emitted first (then that test's recorder was told).
        let described = seen.described.lock().unwrap();
        if !described.is_empty() {
            assert!(described.contains(&(POST_BODY_BYTES.to_owned(), Some(Unit::Bytes))));
            assert_eq!(described.len(), 3);
        }
    }
}
