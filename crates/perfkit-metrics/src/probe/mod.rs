//! The operating system side: CPU, memory, disks, network and the process itself.

mod sysinfo_probe;

pub use sysinfo_probe::SysinfoProbe;

use perfkit_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::MetricsError;

/// Reads the machine's and the process's figures.
///
/// Implementations refresh only what they report and may return a recent cached reading
/// when asked again within a fraction of a second, so calling `sample` on every dashboard
/// refresh or scrape stays cheap. Sampling is blocking (it reads `/proc` on Linux); async
/// callers wrap it in `spawn_blocking`.
pub trait SystemProbe: Send + Sync + std::fmt::Debug {
    /// Reads the current figures.
    ///
    /// # Errors
    /// [`MetricsError::Probe`] when the operating system could not be read.
    fn sample(&self) -> Result<SystemMetrics, MetricsError>;
}

/// Machine and process figures at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SystemMetrics {
    /// When the figures were read.
    pub timestamp: Timestamp,
    /// Share of total CPU capacity in use since the previous reading, 0..1; `None` on the
    /// first reading, which has nothing to compare with.
    pub cpu_usage: Option<f64>,
    /// Logical CPUs.
    pub cpu_count: usize,
    /// Run-queue load averages.
    pub load_average: LoadAverage,
    /// System memory.
    pub memory: MemoryFigures,
    /// Space on each mounted filesystem.
    pub disks: Vec<DiskUsage>,
    /// Bytes read from and written to disks.
    pub disk_io: DiskIo,
    /// Bytes received and sent, per interface and in total over every interface but
    /// loopback.
    pub network: NetworkTraffic,
    /// This process.
    pub process: ProcessFigures,
}

/// Load averages over 1, 5 and 15 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoadAverage {
    /// Over the last minute.
    pub one: f64,
    /// Over the last 5 minutes.
    pub five: f64,
    /// Over the last 15 minutes.
    pub fifteen: f64,
}

/// System memory in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MemoryFigures {
    /// Installed memory.
    pub total_bytes: u64,
    /// In use (total minus available).
    pub used_bytes: u64,
    /// Not used for anything, not even caches.
    pub free_bytes: u64,
    /// Available to new allocations without swapping (includes reclaimable caches).
    pub available_bytes: u64,
    /// `used / total`, 0..1.
    pub usage: f64,
}

/// Space on one mounted filesystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DiskUsage {
    /// Where it is mounted.
    pub mount_point: String,
    /// Filesystem size in bytes.
    pub total_bytes: u64,
    /// Space available in bytes.
    pub available_bytes: u64,
    /// `(total - available) / total`, 0..1.
    pub usage: f64,
}

/// Disk I/O over all disks.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DiskIo {
    /// Bytes read since boot.
    pub read_bytes_total: u64,
    /// Bytes written since boot.
    pub written_bytes_total: u64,
    /// Bytes read per second since the previous reading.
    pub read_bytes_per_second: Option<f64>,
    /// Bytes written per second since the previous reading.
    pub written_bytes_per_second: Option<f64>,
}

/// Network traffic: the totals cover every interface except loopback (as Netdata shows
/// them: traffic a process sends itself never leaves the machine), and `interfaces` lists
/// each interface, loopback included and flagged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NetworkTraffic {
    /// Bytes received since the interfaces came up, loopback excluded.
    pub received_bytes_total: u64,
    /// Bytes sent since the interfaces came up, loopback excluded.
    pub transmitted_bytes_total: u64,
    /// Bytes received per second since the previous reading, loopback excluded.
    pub received_bytes_per_second: Option<f64>,
    /// Bytes sent per second since the previous reading, loopback excluded.
    pub transmitted_bytes_per_second: Option<f64>,
    /// Each interface, by name.
    pub interfaces: Vec<InterfaceTraffic>,
}

/// Traffic on one network interface.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InterfaceTraffic {
    /// The interface's name (`eth0`, `lo`).
    pub name: String,
    /// A loopback interface, left out of the totals.
    pub loopback: bool,
    /// Bytes received since the interface came up.
    pub received_bytes_total: u64,
    /// Bytes sent since the interface came up.
    pub transmitted_bytes_total: u64,
    /// Bytes received per second since the previous reading.
    pub received_bytes_per_second: Option<f64>,
    /// Bytes sent per second since the previous reading.
    pub transmitted_bytes_per_second: Option<f64>,
}

/// This process.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProcessFigures {
    /// Process id.
    pub pid: u32,
    /// Resident set size in bytes.
    pub resident_memory_bytes: u64,
    /// Virtual memory in bytes.
    pub virtual_memory_bytes: u64,
    /// Share of total CPU capacity this process used since the previous reading, 0..1.
    pub cpu_usage: Option<f64>,
    /// The allocator's heap figures: not the probe's (it cannot know the allocator), put
    /// here by whoever holds the process's `HeapAllocator` (the HTTP view does); `None`
    /// from the probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heap: Option<perfkit_control::HeapFigures>,
}
