//! [`SystemProbe`] on the `sysinfo` crate: refreshes only what it reports, and serves a
//! reading younger than the minimum gap from memory.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use perfkit_core::{Clock, SystemClock};
use sysinfo::{Disks, NetworkData, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::{
    DiskIo, DiskUsage, InterfaceTraffic, LoadAverage, MemoryFigures, NetworkTraffic,
    ProcessFigures, SystemMetrics, SystemProbe,
};
use crate::MetricsError;

/// Readings closer together than this return the previous reading: CPU usage needs a gap to
/// be meaningful (sysinfo's minimum is 200 ms), and it caps the probe's own cost.
const MIN_SAMPLE_GAP: Duration = Duration::from_millis(250);
/// The list of mounted filesystems changes rarely; re-listing it costs more than reading it.
const DISK_RELIST_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct ProbeState {
    system: System,
    disks: Disks,
    disks_listed_at: Instant,
    networks: Networks,
    /// When the CPU counters were first read, at construction.
    cpu_baseline_at: Instant,
    /// The last reading and when it was taken; `None` before the first.
    last: Option<(Instant, SystemMetrics)>,
}

/// [`SystemProbe`] on the `sysinfo` crate.
///
/// ```
/// use perfkit_metrics::{SysinfoProbe, SystemProbe};
///
/// let probe = SysinfoProbe::new()?;
/// let figures = probe.sample()?;
/// assert!(figures.memory.total_bytes > 0);
/// assert!(figures.process.resident_memory_bytes > 0);
/// # Ok::<(), perfkit_metrics::MetricsError>(())
/// ```
#[derive(Debug)]
pub struct SysinfoProbe {
    pid: Pid,
    min_sample_gap: Duration,
    clock: Arc<dyn Clock>,
    state: Mutex<ProbeState>,
}

impl SysinfoProbe {
    /// A probe of this machine and this process. Takes a first reading of the CPU counters,
    /// so the next `sample` can report usage.
    ///
    /// # Errors
    /// [`MetricsError::Probe`] when the process id cannot be read.
    pub fn new() -> Result<Self, MetricsError> {
        SysinfoProbe::with_clock(Arc::new(SystemClock))
    }

    /// Like [`new`](SysinfoProbe::new), with timestamps from `clock`.
    ///
    /// # Errors
    /// [`MetricsError::Probe`] when the process id cannot be read.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Result<Self, MetricsError> {
        let pid = sysinfo::get_current_pid().map_err(|e| MetricsError::Probe(e.to_owned()))?;
        let mut system = System::new();
        system.refresh_cpu_usage();
        refresh_process(&mut system, pid);
        Ok(SysinfoProbe {
            pid,
            min_sample_gap: MIN_SAMPLE_GAP,
            clock,
            state: Mutex::new(ProbeState {
                system,
                disks: Disks::new_with_refreshed_list(),
                disks_listed_at: Instant::now(),
                cpu_baseline_at: Instant::now(),
                networks: Networks::new_with_refreshed_list(),
                last: None,
            }),
        })
    }
}

impl SysinfoProbe {
    /// Sets how old the last reading may be before `sample` reads the system again (default
    /// 250 ms). Below 200 ms CPU usage figures lose their meaning; zero is for measuring the
    /// probe's own cost.
    #[must_use]
    pub fn min_sample_gap(mut self, gap: Duration) -> Self {
        self.min_sample_gap = gap;
        self
    }
}

fn refresh_process(system: &mut System, pid: Pid) {
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_memory().with_cpu(),
    );
}

#[allow(clippy::cast_precision_loss)]
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

#[allow(clippy::cast_precision_loss)]
fn per_second(bytes: u64, elapsed: Option<Duration>) -> Option<f64> {
    elapsed.filter(|e| !e.is_zero()).map(|e| bytes as f64 / e.as_secs_f64())
}

/// Whether an interface is a loopback one: by its conventional name (`lo` on Linux, `lo0`
/// on the BSDs and macOS), or because an address on it is a loopback address (Windows names
/// it "Loopback Pseudo-Interface 1").
fn is_loopback(name: &str, data: &NetworkData) -> bool {
    name == "lo" || name == "lo0" || data.ip_networks().iter().any(|net| net.addr.is_loopback())
}

/// Each interface, sorted by name, and the totals over every interface but loopback.
fn network_traffic(networks: &Networks, elapsed: Option<Duration>) -> NetworkTraffic {
    let mut network = NetworkTraffic::default();
    let (mut received_since, mut transmitted_since) = (0, 0);
    for (name, data) in networks {
        let loopback = is_loopback(name, data);
        if !loopback {
            network.received_bytes_total += data.total_received();
            network.transmitted_bytes_total += data.total_transmitted();
            received_since += data.received();
            transmitted_since += data.transmitted();
        }
        network.interfaces.push(InterfaceTraffic {
            name: name.clone(),
            loopback,
            received_bytes_total: data.total_received(),
            transmitted_bytes_total: data.total_transmitted(),
            received_bytes_per_second: per_second(data.received(), elapsed),
            transmitted_bytes_per_second: per_second(data.transmitted(), elapsed),
        });
    }
    network.interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    network.received_bytes_per_second = per_second(received_since, elapsed);
    network.transmitted_bytes_per_second = per_second(transmitted_since, elapsed);
    network
}

impl SystemProbe for SysinfoProbe {
    fn sample(&self) -> Result<SystemMetrics, MetricsError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if let Some((at, last)) = &state.last
            && now.duration_since(*at) < self.min_sample_gap
        {
            return Ok(last.clone());
        }
        let elapsed = state.last.as_ref().map(|(at, _)| now.duration_since(*at));
        // CPU usage is a difference between two readings at least 200 ms apart (sysinfo's
        // minimum); the construction-time reading serves as the first once it is old enough.
        let first =
            state.last.is_none() && now.duration_since(state.cpu_baseline_at) < MIN_SAMPLE_GAP;
        let ProbeState { system, disks, disks_listed_at, networks, .. } = &mut *state;

        system.refresh_cpu_usage();
        system.refresh_memory();
        refresh_process(system, self.pid);
        if now.duration_since(*disks_listed_at) >= DISK_RELIST_EVERY {
            disks.refresh(true);
            *disks_listed_at = now;
        } else {
            disks.refresh(false);
        }
        networks.refresh(false);

        let cpu_count = system.cpus().len().max(1);
        let process = system.process(self.pid).ok_or_else(|| {
            MetricsError::Probe(format!("process {} not found in the process table", self.pid))
        })?;
        #[allow(clippy::cast_precision_loss)]
        let process_cpu = f64::from(process.cpu_usage()) / 100.0 / cpu_count as f64;
        let process = ProcessFigures {
            pid: self.pid.as_u32(),
            resident_memory_bytes: process.memory(),
            virtual_memory_bytes: process.virtual_memory(),
            cpu_usage: (!first).then_some(process_cpu.clamp(0.0, 1.0)),
            heap: None,
        };

        let total = system.total_memory();
        let available = system.available_memory();
        let used = total.saturating_sub(available);
        let memory = MemoryFigures {
            total_bytes: total,
            used_bytes: used,
            free_bytes: system.free_memory(),
            available_bytes: available,
            usage: share(used, total),
        };

        let load = System::load_average();
        let mut disk_io = DiskIo::default();
        let (mut read_since, mut written_since) = (0, 0);
        let mut disk_list = Vec::with_capacity(disks.list().len());
        for disk in disks.list() {
            let (total, available) = (disk.total_space(), disk.available_space());
            disk_list.push(DiskUsage {
                mount_point: disk.mount_point().to_string_lossy().into_owned(),
                total_bytes: total,
                available_bytes: available,
                usage: share(total.saturating_sub(available), total),
            });
            let usage = disk.usage();
            disk_io.read_bytes_total += usage.total_read_bytes;
            disk_io.written_bytes_total += usage.total_written_bytes;
            read_since += usage.read_bytes;
            written_since += usage.written_bytes;
        }
        disk_io.read_bytes_per_second = per_second(read_since, elapsed);
        disk_io.written_bytes_per_second = per_second(written_since, elapsed);

        let network = network_traffic(networks, elapsed);

        let figures = SystemMetrics {
            timestamp: self.clock.now(),
            cpu_usage: (!first)
                .then(|| (f64::from(system.global_cpu_usage()) / 100.0).clamp(0.0, 1.0)),
            cpu_count,
            load_average: LoadAverage { one: load.one, five: load.five, fifteen: load.fifteen },
            memory,
            disks: disk_list,
            disk_io,
            network,
            process,
        };
        state.last = Some((now, figures.clone()));
        Ok(figures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_in_range_on_this_machine() {
        let probe = SysinfoProbe::new().unwrap();
        let first = probe.sample().unwrap();
        assert_eq!(first.cpu_usage, None, "a reading right after construction has no CPU baseline");
        std::thread::sleep(MIN_SAMPLE_GAP + Duration::from_millis(50));
        let figures = probe.sample().unwrap();

        let cpu = figures.cpu_usage.unwrap();
        assert!((0.0..=1.0).contains(&cpu), "cpu {cpu}");
        assert!(figures.cpu_count >= 1);
        assert!(figures.load_average.one >= 0.0);
        let memory = figures.memory;
        assert!(memory.total_bytes > 0);
        assert!(memory.used_bytes <= memory.total_bytes);
        assert!(memory.available_bytes <= memory.total_bytes);
        assert!((0.0..=1.0).contains(&memory.usage));
        for disk in &figures.disks {
            assert!(disk.available_bytes <= disk.total_bytes, "{disk:?}");
            assert!((0.0..=1.0).contains(&disk.usage), "{disk:?}");
        }
        assert!(figures.disk_io.read_bytes_per_second.is_some());
        assert!(figures.network.received_bytes_per_second.unwrap() >= 0.0);
        let process = figures.process;
        assert_eq!(process.pid, std::process::id());
        assert!(process.resident_memory_bytes > 1 << 20, "rss {}", process.resident_memory_bytes);
        assert!(process.resident_memory_bytes < memory.total_bytes);
        assert!((0.0..=1.0).contains(&process.cpu_usage.unwrap()));
    }

    #[test]
    fn the_first_reading_has_cpu_once_the_construction_baseline_is_old_enough() {
        let probe = SysinfoProbe::new().unwrap();
        std::thread::sleep(MIN_SAMPLE_GAP + Duration::from_millis(50));
        let cpu = probe.sample().unwrap().cpu_usage.unwrap();
        assert!((0.0..=1.0).contains(&cpu), "cpu {cpu}");
    }

    #[test]
    fn loopback_is_listed_but_left_out_of_the_totals() {
        let probe = SysinfoProbe::new().unwrap().min_sample_gap(Duration::ZERO);
        let network = probe.sample().unwrap().network;
        let lo = network
            .interfaces
            .iter()
            .find(|interface| interface.name == "lo" || interface.name == "lo0")
            .expect("this machine has a loopback interface");
        assert!(lo.loopback, "{lo:?}");
        let outside: Vec<_> = network.interfaces.iter().filter(|i| !i.loopback).collect();
        assert_eq!(
            network.received_bytes_total,
            outside.iter().map(|i| i.received_bytes_total).sum::<u64>()
        );
        assert_eq!(
            network.transmitted_bytes_total,
            outside.iter().map(|i| i.transmitted_bytes_total).sum::<u64>()
        );

        // Traffic on loopback moves the loopback figures, never the totals' share of it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let payload = vec![7u8; 1 << 20];
        let reader = std::thread::spawn(move || {
            let mut sink = Vec::new();
            std::io::Read::read_to_end(&mut server, &mut sink).unwrap();
            sink.len()
        });
        std::io::Write::write_all(&mut client, &payload).unwrap();
        drop(client);
        assert_eq!(reader.join().unwrap(), payload.len());
        let after = probe.sample().unwrap().network;
        let lo_after = after.interfaces.iter().find(|i| i.name == lo.name).unwrap();
        assert!(
            lo_after.received_bytes_total >= lo.received_bytes_total + payload.len() as u64,
            "{lo:?} -> {lo_after:?}"
        );
        let outside_after: u64 =
            after.interfaces.iter().filter(|i| !i.loopback).map(|i| i.received_bytes_total).sum();
        assert_eq!(after.received_bytes_total, outside_after);
    }

    #[test]
    fn readings_close_together_are_served_from_the_last_one() {
        let probe = SysinfoProbe::new().unwrap();
        let first = probe.sample().unwrap();
        let second = probe.sample().unwrap();
        assert_eq!(first, second);
    }
}
