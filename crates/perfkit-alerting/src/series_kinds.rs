//! The kind (counter, gauge, histogram) of each business series the engine has seen in the
//! snapshots it evaluated, so a rule set can be checked for aggregations a series cannot have
//! before it replaces the rules in force.

use std::collections::HashMap;

use perfkit_core::{BusinessSeries, SeriesKind};

/// Most series names remembered; past it new names go unchecked (they read as no data if
/// their aggregation is impossible), so memory stays bounded however many a host emits.
pub(crate) const MAX_KNOWN_SERIES: usize = 10_000;

/// Series name -> kind, as the latest snapshots had them.
#[derive(Debug, Default)]
pub(crate) struct SeriesKinds {
    kinds: HashMap<String, SeriesKind>,
}

impl SeriesKinds {
    /// Remembers the kind of every series in a snapshot. In the steady state (the same names
    /// every interval) it allocates nothing.
    pub(crate) fn observe(&mut self, series: &[BusinessSeries]) {
        for one in series {
            let room = self.kinds.len() < MAX_KNOWN_SERIES;
            match self.kinds.get_mut(&one.name) {
                Some(kind) => *kind = one.kind,
                None if room => {
                    self.kinds.insert(one.name.clone(), one.kind);
                }
                None => {}
            }
        }
    }

    /// The kind of the series named `name`, if the engine has seen it.
    pub(crate) fn kind_of(&self, name: &str) -> Option<SeriesKind> {
        self.kinds.get(name).copied()
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn series(name: &str, kind: SeriesKind) -> BusinessSeries {
        BusinessSeries::new(name, kind, 0.0)
    }

    #[test]
    fn remembers_the_latest_kind_and_stays_bounded() {
        let mut kinds = SeriesKinds::default();
        kinds.observe(&[series("queue", SeriesKind::Counter)]);
        kinds.observe(&[series("queue", SeriesKind::Gauge)]);
        assert_eq!(kinds.kind_of("queue"), Some(SeriesKind::Gauge));
        assert_eq!(kinds.kind_of("other"), None);
        let many: Vec<_> = (0..MAX_KNOWN_SERIES + 10)
            .map(|i| series(&format!("s{i}"), SeriesKind::Counter))
            .collect();
        kinds.observe(&many);
        assert_eq!(kinds.kinds.len(), MAX_KNOWN_SERIES);
    }
}
