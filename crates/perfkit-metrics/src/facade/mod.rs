//! Series emitted through the `metrics` facade: perfkit as the process's `metrics::Recorder`.
//!
//! [`install`] (or a [`FacadeRecorder`] combined with others) routes every `counter!`,
//! `gauge!`, `histogram!` and `describe_*` in the process into the [`Recorder`](crate::Recorder)'s
//! [`BusinessRegistry`]: capped per name and in names (`registry.rs`), names and labels made
//! to follow Prometheus's rules (`names.rs`), values in striped atomics behind the handles
//! (`series.rs`), recent lookups cached per thread (`thread_cache.rs`), histograms with bucket bounds per name (`bounds.rs`, [`BusinessConfig`]).
//! The recorder's interval close closes the registry's interval, so the snapshot's `business`
//! figures cover the same interval as its request figures; the exposition reads the registry
//! at scrape time (`exposition/business_text.rs`).

mod bounds;
mod config;
mod names;
mod recorder;
mod registry;
mod series;
mod thread_cache;

pub use config::BusinessConfig;
pub use recorder::{FacadeRecorder, install};
pub use registry::{BusinessRegistry, OVERFLOW_LABEL};
pub(crate) use registry::{NameEntry, SeriesCell};
