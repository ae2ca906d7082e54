//! The allocator's heap figures in the exposition, read at scrape time from the process's
//! [`HeapAllocator`] (the one the memory action releases through): bytes handed out, and
//! bytes held from the operating system. Their difference is what a release could return.

use std::sync::Arc;

use perfkit_control::HeapAllocator;
use perfkit_metrics::{FamilyBuilder, family_desc};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::PerfkitError;

const ALLOCATED: (&str, &str) = (
    "perfkit_heap_allocated_bytes",
    "Bytes the allocator has handed out and not had back, by its own count.",
);
const RESIDENT: (&str, &str) = (
    "perfkit_heap_resident_bytes",
    "Bytes the allocator holds from the operating system, in use or kept for reuse.",
);

pub(crate) struct HeapCollector {
    heap: Arc<dyn HeapAllocator>,
    descs: Vec<Desc>,
}

impl HeapCollector {
    pub(crate) fn new(heap: Arc<dyn HeapAllocator>) -> Result<Self, PerfkitError> {
        let descs = [ALLOCATED, RESIDENT]
            .iter()
            .map(|(name, help)| family_desc(name, help, &["allocator"]))
            .collect::<Result<_, _>>()
            .map_err(|e| PerfkitError::Setup {
                part: "prometheus exposition",
                message: e.to_string(),
            })?;
        Ok(HeapCollector { heap, descs })
    }
}

impl Collector for HeapCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    #[allow(clippy::cast_precision_loss)] // bytes far below 2^53
    fn collect(&self) -> Vec<MetricFamily> {
        let figures = self.heap.figures();
        [(ALLOCATED, figures.allocated_bytes), (RESIDENT, figures.resident_bytes)]
            .into_iter()
            .filter_map(|((name, help), bytes)| {
                let mut family = FamilyBuilder::gauge(name, help);
                family.value(&[("allocator", figures.allocator)], bytes? as f64);
                Some(family.finish())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfkit_control::HeapFigures;

    #[derive(Debug)]
    struct Fixed;

    impl HeapAllocator for Fixed {
        fn figures(&self) -> HeapFigures {
            HeapFigures { allocator: "fixed", allocated_bytes: Some(10), resident_bytes: None }
        }
        fn release(&self) {}
    }

    #[test]
    fn a_figure_the_allocator_does_not_keep_is_left_out() {
        let families = HeapCollector::new(Arc::new(Fixed)).unwrap().collect();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names, vec!["perfkit_heap_allocated_bytes"]);
        let metric = &families[0].get_metric()[0];
        assert_eq!(metric.get_label()[0].value(), "fixed");
        assert_eq!(metric.get_gauge().value(), 10.0);
    }
}
