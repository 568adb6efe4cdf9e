//! Process CPU time, read from `/proc/self/stat` (std only; no libc).

/// Linux reports `utime`/`stime` in USER_HZ ticks, fixed at 100 per second for user space.
const USER_HZ: f64 = 100.0;

/// User + system CPU seconds consumed by this process (all threads), if the platform says.
pub fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&stat)
}

/// Extracts `utime + stime` (fields 14 and 15) from the text of `/proc/<pid>/stat`, in seconds.
pub fn parse_stat(stat: &str) -> Option<f64> {
    // The command name (field 2) is parenthesised and may hold spaces: split after its end.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field n sits at index n - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_spaces_in_the_name() {
        let line =
            "1234 (sim (x) y) R 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 3 0 1 1 1";
        assert_eq!(parse_stat(line), Some(3.0));
    }
}
