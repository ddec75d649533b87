//! `sys/host-info` (sudo): the host's CPUs, CPU times, disks, identity and memory, read from
//! `/proc` (and `statvfs` for disks) and named as Vault's answer names them (Vault reports
//! gopsutil's structures: `cpu`, `cpu_times`, `disk`, `host`, `memory`, `timestamp`). The
//! parsers are plain functions over the files' text; `gather` does the reading. Off Linux the
//! files are absent and the sections come back empty rather than failing.

use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Clock ticks per second in `/proc/stat` (USER_HZ, 100 on every Linux ABI Coffer builds for).
const USER_HZ: f64 = 100.0;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `key: value` lines, grouped into blocks separated by blank lines (`/proc/cpuinfo`).
fn blocks(text: &str) -> Vec<BTreeMap<String, String>> {
    text.split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect::<BTreeMap<_, _>>()
        })
        .filter(|b| !b.is_empty())
        .collect()
}

/// gopsutil's `InfoStat` per logical CPU.
pub fn cpus(cpuinfo: &str) -> Vec<Value> {
    blocks(cpuinfo)
        .into_iter()
        .filter(|b| b.contains_key("processor"))
        .map(|b| {
            let text = |k: &str| b.get(k).cloned().unwrap_or_default();
            let int = |k: &str| b.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            let cache_kb = text("cache size")
                .trim_end_matches("KB")
                .trim()
                .parse::<i64>()
                .unwrap_or(0);
            let flags: Vec<&str> = b
                .get("flags")
                .map(|f| f.split_whitespace().collect())
                .unwrap_or_default();
            json!({
                "cpu": int("processor"),
                "vendorId": text("vendor_id"),
                "family": text("cpu family"),
                "model": text("model"),
                "stepping": int("stepping"),
                "physicalId": text("physical id"),
                "coreId": text("core id"),
                "cores": 1,
                "modelName": text("model name"),
                "mhz": b.get("cpu MHz").and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0),
                "cacheSize": cache_kb,
                "flags": flags,
                "microcode": text("microcode"),
            })
        })
        .collect()
}

/// gopsutil's `TimesStat` per CPU (`cpu0`, `cpu1`, ...), in seconds.
pub fn cpu_times(stat: &str) -> Vec<Value> {
    stat.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let mut fields = l.split_whitespace();
            let name = fields.next().unwrap_or_default();
            let t: Vec<f64> = fields
                .map(|v| v.parse::<f64>().unwrap_or(0.0) / USER_HZ)
                .collect();
            let at = |i: usize| t.get(i).copied().unwrap_or(0.0);
            json!({
                "cpu": name,
                "user": at(0), "nice": at(1), "system": at(2), "idle": at(3), "iowait": at(4),
                "irq": at(5), "softirq": at(6), "steal": at(7), "guest": at(8), "guestNice": at(9),
            })
        })
        .collect()
}

/// `/proc/meminfo` in bytes, by its own names.
fn meminfo(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let mut parts = v.split_whitespace();
            let n: u64 = parts.next()?.parse().ok()?;
            let bytes = if parts.next() == Some("kB") {
                n * 1024
            } else {
                n
            };
            Some((k.trim().to_string(), bytes))
        })
        .collect()
}

/// gopsutil's `VirtualMemoryStat` (Linux fields; `used` as gopsutil computes it).
pub fn memory(text: &str) -> Value {
    let m = meminfo(text);
    let get = |k: &str| m.get(k).copied().unwrap_or(0);
    let (total, free) = (get("MemTotal"), get("MemFree"));
    let cached = get("Cached") + get("SReclaimable");
    let available = m.get("MemAvailable").copied().unwrap_or(free + cached);
    let used = total.saturating_sub(free + get("Buffers") + cached);
    let used_percent = if total == 0 {
        0.0
    } else {
        used as f64 / total as f64 * 100.0
    };
    json!({
        "total": total, "available": available, "used": used, "usedPercent": used_percent,
        "free": free, "active": get("Active"), "inactive": get("Inactive"), "wired": 0,
        "laundry": 0, "buffers": get("Buffers"), "cached": cached,
        "writeBack": get("Writeback"), "dirty": get("Dirty"), "writeBackTmp": get("WritebackTmp"),
        "shared": get("Shmem"), "slab": get("Slab"), "sreclaimable": get("SReclaimable"),
        "sunreclaim": get("SUnreclaim"), "pageTables": get("PageTables"),
        "swapCached": get("SwapCached"), "commitLimit": get("CommitLimit"),
        "committedAS": get("Committed_AS"), "highTotal": get("HighTotal"),
        "highFree": get("HighFree"), "lowTotal": get("LowTotal"), "lowFree": get("LowFree"),
        "swapTotal": get("SwapTotal"), "swapFree": get("SwapFree"), "mapped": get("Mapped"),
        "vmallocTotal": get("VmallocTotal"), "vmallocUsed": get("VmallocUsed"),
        "vmallocChunk": get("VmallocChunk"), "hugePagesTotal": get("HugePages_Total"),
        "hugePagesFree": get("HugePages_Free"), "hugePagesRsvd": get("HugePages_Rsvd"),
        "hugePagesSurp": get("HugePages_Surp"), "hugePageSize": get("Hugepagesize"),
        "anonHugePages": get("AnonHugePages"),
    })
}

/// `KEY=value` lines of `/etc/os-release`, quotes removed.
fn os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// gopsutil's `InfoStat` for the host.
fn host(stat: &str) -> Value {
    let release = os_release(&read("/etc/os-release"));
    let field = |k: &str| release.get(k).cloned().unwrap_or_default();
    let uptime = read("/proc/uptime")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0) as u64;
    let boot_time = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let procs = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .count()
        })
        .unwrap_or(0);
    let family = field("ID_LIKE")
        .split_whitespace()
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| field("ID"));
    json!({
        "hostname": read("/proc/sys/kernel/hostname").trim(),
        "uptime": uptime,
        "bootTime": boot_time,
        "procs": procs,
        "os": std::env::consts::OS,
        "platform": field("ID"),
        "platformFamily": family,
        "platformVersion": field("VERSION_ID"),
        "kernelVersion": read("/proc/sys/kernel/osrelease").trim(),
        "kernelArch": std::env::consts::ARCH,
        "virtualizationSystem": "",
        "virtualizationRole": "",
        "hostid": read("/proc/sys/kernel/random/boot_id").trim(),
    })
}

/// Mount points of real (not `nodev`) file systems, and `/` always, from `/proc/self/mounts`.
pub fn partitions(mounts: &str, filesystems: &str) -> Vec<(String, String)> {
    let nodev: Vec<&str> = filesystems
        .lines()
        .filter_map(|l| l.strip_prefix("nodev"))
        .map(str::trim)
        .collect();
    let mut seen = Vec::<(String, String)>::new();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(path), Some(fstype)) = (f.get(1), f.get(2)) else {
            continue;
        };
        let path = path.replace("\\040", " ");
        if (path == "/" || !nodev.contains(fstype)) && !seen.iter().any(|(p, _)| *p == path) {
            seen.push((path, (*fstype).to_string()));
        }
    }
    seen
}

/// gopsutil's `UsageStat` of one mount point.
#[cfg(unix)]
fn usage(path: &str, fstype: &str) -> Option<Value> {
    let s = rustix::fs::statvfs(path).ok()?;
    let total = s.f_blocks * s.f_frsize;
    let free = s.f_bavail * s.f_frsize;
    let used = (s.f_blocks - s.f_bfree) * s.f_frsize;
    let percent = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64 * 100.0
        }
    };
    let inodes_used = s.f_files.saturating_sub(s.f_ffree);
    Some(json!({
        "path": path, "fstype": fstype, "total": total, "free": free, "used": used,
        "usedPercent": percent(used, used + free),
        "inodesTotal": s.f_files, "inodesUsed": inodes_used, "inodesFree": s.f_ffree,
        "inodesUsedPercent": percent(inodes_used, s.f_files),
    }))
}

#[cfg(not(unix))]
fn usage(_path: &str, _fstype: &str) -> Option<Value> {
    None
}

/// Everything `sys/host-info` answers, read now.
pub fn gather() -> Map<String, Value> {
    let stat = read("/proc/stat");
    let disks: Vec<Value> = partitions(&read("/proc/self/mounts"), &read("/proc/filesystems"))
        .iter()
        .filter_map(|(path, fstype)| usage(path, fstype))
        .collect();
    let mut data = Map::new();
    data.insert("cpu".into(), cpus(&read("/proc/cpuinfo")).into());
    data.insert("cpu_times".into(), cpu_times(&stat).into());
    data.insert("disk".into(), disks.into());
    data.insert("host".into(), host(&stat));
    data.insert("memory".into(), memory(&read("/proc/meminfo")));
    data.insert("timestamp".into(), crate::clock::now_rfc3339().into());
    data
}

/// `sys/host-info`: reads a few small files; done on the blocking pool (inline under the
/// simulation, which has no blocking pool and no host to describe).
pub async fn handle(req: &Request) -> Result<Option<Response>, ApiError> {
    if req.operation != Operation::Read {
        return Err(ApiError::UnsupportedOperation);
    }
    #[cfg(not(madsim))]
    let data = tokio::task::spawn_blocking(gather)
        .await
        .map_err(ApiError::internal)?;
    #[cfg(madsim)]
    let data = gather();
    Ok(Some(Response::data(Value::Object(data))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse_into_gopsutils_names() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel name\t: Xeon\nstepping\t: 7\ncpu MHz\t\t: 2200.000\ncache size\t: 39424 KB\nflags\t\t: fpu vme\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\n";
        let cpus = cpus(cpuinfo);
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[0]["vendorId"], "GenuineIntel");
        assert_eq!(cpus[0]["family"], "6");
        assert_eq!(cpus[0]["cacheSize"], 39424);
        assert_eq!(cpus[0]["flags"], json!(["fpu", "vme"]));
        assert_eq!(cpus[0]["mhz"], 2200.0);
        assert_eq!(cpus[1]["cpu"], 1);

        let times = cpu_times("cpu  10 0 5 100\ncpu0 10 0 5 100 1 0 0 0 0 0\nintr 5\n");
        assert_eq!(times.len(), 1);
        assert_eq!(times[0]["cpu"], "cpu0");
        assert_eq!(times[0]["user"], 0.1);
        assert_eq!(times[0]["idle"], 1.0);

        let mem = memory("MemTotal: 1000 kB\nMemFree: 200 kB\nMemAvailable: 600 kB\nBuffers: 100 kB\nCached: 300 kB\nSReclaimable: 0 kB\nHugePages_Total: 0\n");
        assert_eq!(mem["total"], 1024000);
        assert_eq!(mem["available"], 614400);
        assert_eq!(mem["used"], 409600);
        assert_eq!(mem["usedPercent"], 40.0);

        let parts = partitions(
            "overlay / overlay rw 0 0\nproc /proc proc rw 0 0\n/dev/sda1 /data ext4 rw 0 0\n",
            "nodev\tproc\nnodev\toverlay\n\text4\n",
        );
        assert_eq!(
            parts,
            vec![
                ("/".to_string(), "overlay".to_string()),
                ("/data".to_string(), "ext4".to_string())
            ]
        );
    }
}
