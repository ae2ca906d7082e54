//! `/metrics/system`: the probe's figures of the machine and this process, the allocator's
//! heap figures in the process section, and the tokio runtime's beside them, each from its
//! owner.

use perfkit::RuntimeFigures;
use perfkit::control::HeapAllocator;
use perfkit::metrics::SystemMetrics;
use serde::Serialize;

/// System figures: the probe's, and the runtime's read as the answer is built.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SystemView {
    /// CPU, load, memory, disks, network, this process: the system probe's.
    #[serde(flatten)]
    pub(crate) probe: SystemMetrics,
    /// Workers, tasks alive, the global queue and busy time of the tokio runtime that
    /// built this answer; `None` outside a runtime.
    pub(crate) runtime: Option<RuntimeFigures>,
}

impl SystemView {
    /// The probe's figures, with the allocator's heap figures (`heap`, read now) in the
    /// process section.
    pub(crate) fn of(mut probe: SystemMetrics, heap: &dyn HeapAllocator) -> SystemView {
        probe.process.heap = Some(heap.figures());
        SystemView { probe, runtime: RuntimeFigures::read() }
    }
}
