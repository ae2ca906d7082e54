//! Machine and process gauges from a [`SystemProbe`], read at scrape time.

use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use super::families::{Family, desc};
use crate::{MetricsError, SystemMetrics, SystemProbe};

const FAMILIES: &[(&str, &str, &[&str])] = &[
    ("process_resident_memory_bytes", "Resident memory of this process in bytes.", &[]),
    ("process_virtual_memory_bytes", "Virtual memory of this process in bytes.", &[]),
    ("process_cpu_usage_ratio", "Share of total CPU capacity used by this process, 0..1.", &[]),
    ("system_cpu_usage_ratio", "Share of total CPU capacity in use, 0..1.", &[]),
    ("system_cpus", "Logical CPUs.", &[]),
    ("system_load_average", "Run-queue load average.", &["window"]),
    ("system_memory_total_bytes", "Installed memory in bytes.", &[]),
    ("system_memory_used_bytes", "Memory in use in bytes (total minus available).", &[]),
    ("system_memory_available_bytes", "Memory available without swapping, in bytes.", &[]),
    ("system_memory_usage_ratio", "Share of memory in use, 0..1.", &[]),
    ("system_disk_total_bytes", "Filesystem size in bytes.", &["mount_point"]),
    ("system_disk_available_bytes", "Filesystem space available in bytes.", &["mount_point"]),
    ("system_disk_read_bytes_total", "Bytes read from disks.", &[]),
    ("system_disk_written_bytes_total", "Bytes written to disks.", &[]),
    (
        "system_network_received_bytes_total",
        "Bytes received over every network interface but loopback.",
        &[],
    ),
    (
        "system_network_transmitted_bytes_total",
        "Bytes sent over every network interface but loopback.",
        &[],
    ),
];

fn help(name: &str) -> &'static str {
    FAMILIES.iter().find(|(family, _, _)| *family == name).map_or("", |(_, help, _)| help)
}

pub(super) struct SystemCollector {
    probe: Arc<dyn SystemProbe>,
    descs: Vec<Desc>,
}

impl SystemCollector {
    pub(super) fn new(probe: Arc<dyn SystemProbe>) -> Result<Self, MetricsError> {
        let descs = FAMILIES
            .iter()
            .map(|(name, help, labels)| desc(name, help, labels))
            .collect::<Result<_, _>>()?;
        Ok(SystemCollector { probe, descs })
    }
}

#[allow(clippy::cast_precision_loss)]
fn float(value: u64) -> f64 {
    value as f64
}

fn families_of(figures: &SystemMetrics) -> Vec<MetricFamily> {
    let mut families = Vec::with_capacity(FAMILIES.len());
    let mut push = |name: &str, counter: bool, samples: &[(&[(&str, &str)], f64)]| {
        let mut family = if counter {
            Family::counter(name, help(name))
        } else {
            Family::gauge(name, help(name))
        };
        for (labels, value) in samples {
            family.value(labels, *value);
        }
        families.push(family.finish());
    };
    let process = &figures.process;
    push("process_resident_memory_bytes", false, &[(&[], float(process.resident_memory_bytes))]);
    push("process_virtual_memory_bytes", false, &[(&[], float(process.virtual_memory_bytes))]);
    if let Some(cpu) = process.cpu_usage {
        push("process_cpu_usage_ratio", false, &[(&[], cpu)]);
    }
    if let Some(cpu) = figures.cpu_usage {
        push("system_cpu_usage_ratio", false, &[(&[], cpu)]);
    }
    #[allow(clippy::cast_precision_loss)]
    push("system_cpus", false, &[(&[], figures.cpu_count as f64)]);
    let load = figures.load_average;
    push(
        "system_load_average",
        false,
        &[
            (&[("window", "1m")], load.one),
            (&[("window", "5m")], load.five),
            (&[("window", "15m")], load.fifteen),
        ],
    );
    let memory = figures.memory;
    push("system_memory_total_bytes", false, &[(&[], float(memory.total_bytes))]);
    push("system_memory_used_bytes", false, &[(&[], float(memory.used_bytes))]);
    push("system_memory_available_bytes", false, &[(&[], float(memory.available_bytes))]);
    push("system_memory_usage_ratio", false, &[(&[], memory.usage)]);

    // Several filesystems can share a mount point (bind mounts, overlays); one series each.
    let mut disks: Vec<_> = figures.disks.iter().collect();
    disks.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    disks.dedup_by(|a, b| a.mount_point == b.mount_point);
    let totals: Vec<_> =
        disks.iter().map(|d| (d.mount_point.as_str(), float(d.total_bytes))).collect();
    let available: Vec<_> =
        disks.iter().map(|d| (d.mount_point.as_str(), float(d.available_bytes))).collect();
    let labelled = |values: &[(&str, f64)], name: &str| {
        let mut family = Family::gauge(name, help(name));
        for (mount, value) in values {
            family.value(&[("mount_point", mount)], *value);
        }
        family.finish()
    };
    let disk_total = labelled(&totals, "system_disk_total_bytes");
    let disk_available = labelled(&available, "system_disk_available_bytes");
    push("system_disk_read_bytes_total", true, &[(&[], float(figures.disk_io.read_bytes_total))]);
    push(
        "system_disk_written_bytes_total",
        true,
        &[(&[], float(figures.disk_io.written_bytes_total))],
    );
    push(
        "system_network_received_bytes_total",
        true,
        &[(&[], float(figures.network.received_bytes_total))],
    );
    push(
        "system_network_transmitted_bytes_total",
        true,
        &[(&[], float(figures.network.transmitted_bytes_total))],
    );
    families.push(disk_total);
    families.push(disk_available);
    families
}

impl Collector for SystemCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        match self.probe.sample() {
            Ok(figures) => families_of(&figures),
            Err(error) => {
                // A scrape must still return the application's figures; say why these are
                // missing instead of failing the whole exposition.
                tracing::warn!(%error, "system probe failed; system gauges left out of this scrape");
                Vec::new()
            }
        }
    }
}
