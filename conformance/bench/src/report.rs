//! Results: one JSON line per measurement, the summary table of medians and ratios, and the
//! chart (hand-written SVG: two bars per metric need no plotting library).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One measured figure of one service in one round.
#[derive(Clone, Debug)]
pub(crate) struct Figure {
    /// `conclave` or `zookeeper`.
    pub(crate) service: &'static str,
    /// 1-based round.
    pub(crate) round: usize,
    /// Metric name, e.g. `write-tput ops/s`.
    pub(crate) metric: String,
    /// The value, in the metric's unit.
    pub(crate) value: f64,
    /// Whether more is better (throughput) or less (latency, time, memory).
    pub(crate) higher_is_better: bool,
}

/// Median of the values (0 for none).
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Per metric (in first-measured order): higher-is-better and each service's median.
pub(crate) struct Summary {
    rows: Vec<(String, bool, BTreeMap<&'static str, f64>)>,
}

impl Summary {
    /// Medians over rounds of every metric, per service.
    pub(crate) fn of(figures: &[Figure]) -> Summary {
        let mut order: Vec<(String, bool)> = Vec::new();
        for f in figures {
            if !order.iter().any(|(m, _)| *m == f.metric) {
                order.push((f.metric.clone(), f.higher_is_better));
            }
        }
        let rows = order
            .into_iter()
            .map(|(metric, higher)| {
                let mut per = BTreeMap::new();
                for service in ["conclave", "zookeeper"] {
                    let v: Vec<f64> = figures
                        .iter()
                        .filter(|f| f.metric == metric && f.service == service)
                        .map(|f| f.value)
                        .collect();
                    if !v.is_empty() {
                        per.insert(service, median(v));
                    }
                }
                (metric, higher, per)
            })
            .collect();
        Summary { rows }
    }

    /// A service's median of a metric, if measured.
    pub(crate) fn median_of(&self, metric: &str, service: &str) -> Option<f64> {
        let (_, _, per) = self.rows.iter().find(|(m, _, _)| m == metric)?;
        per.get(service).copied()
    }

    /// Conclave / ZooKeeper for a metric where both were measured.
    fn ratio(per: &BTreeMap<&'static str, f64>) -> Option<f64> {
        let (c, z) = (per.get("conclave")?, per.get("zookeeper")?);
        (*z > 0.0).then(|| c / z)
    }

    /// The Markdown table: metric, both medians, the ratio and which way is better.
    pub(crate) fn table(&self, rounds: usize) -> String {
        let mut s = format!(
            "| metric (median of {rounds} round(s)) | Conclave | ZooKeeper | Conclave / ZooKeeper |\n|---|---|---|---|\n"
        );
        for (metric, higher, per) in &self.rows {
            let cell = |k| per.get(k).map_or(String::from("—"), |v: &f64| fmt_num(*v));
            let ratio = Summary::ratio(per).map_or(String::from("—"), |r| {
                format!(
                    "{r:.2}× ({} is better)",
                    if *higher { "higher" } else { "lower" }
                )
            });
            let _ = writeln!(
                s,
                "| {metric} | {} | {} | {ratio} |",
                cell("conclave"),
                cell("zookeeper")
            );
        }
        s
    }

    /// A bar chart: per metric one bar per service, scaled to the larger of the two, the
    /// values and the ratio written beside them.
    pub(crate) fn svg(&self, title: &str) -> String {
        let (row_h, left, width) = (34.0, 250.0, 900.0);
        let bar_w = width - left - 170.0;
        let height = 60.0 + row_h * self.rows.len() as f64 + 30.0;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>\n\
             <rect x=\"{left}\" y=\"32\" width=\"12\" height=\"10\" fill=\"#2b7bb9\"/><text x=\"{}\" y=\"41\">Conclave</text>\n\
             <rect x=\"{}\" y=\"32\" width=\"12\" height=\"10\" fill=\"#e8912d\"/><text x=\"{}\" y=\"41\">Apache ZooKeeper 3.8</text>\n",
            escape(title),
            left + 16.0,
            left + 90.0,
            left + 106.0
        );
        for (i, (metric, higher, per)) in self.rows.iter().enumerate() {
            let y = 55.0 + row_h * i as f64;
            let max = per.values().cloned().fold(0.0f64, f64::max).max(1e-12);
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} ({})</text>",
                left - 8.0,
                y + 17.0,
                escape(metric),
                if *higher { "↑ better" } else { "↓ better" }
            );
            for (k, (service, colour)) in [("conclave", "#2b7bb9"), ("zookeeper", "#e8912d")]
                .into_iter()
                .enumerate()
            {
                let Some(v) = per.get(service) else { continue };
                let by = y + 3.0 + 13.0 * k as f64;
                let w = (bar_w * v / max).max(1.0);
                let _ = writeln!(
                    s,
                    "<rect x=\"{left}\" y=\"{by}\" width=\"{w:.1}\" height=\"12\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"10\">{}</text>",
                    left + w + 4.0,
                    by + 10.0,
                    fmt_num(*v)
                );
            }
            if let Some(r) = Summary::ratio(per) {
                let _ = writeln!(
                    s,
                    "<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{r:.2}×</text>",
                    width - 60.0,
                    y + 17.0
                );
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

/// Figures with a sensible number of digits.
fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(service: &'static str, round: usize, metric: &str, value: f64) -> Figure {
        Figure {
            service,
            round,
            metric: metric.into(),
            value,
            higher_is_better: true,
        }
    }

    #[test]
    fn medians_and_ratios_per_metric() {
        let figures = [
            fig("conclave", 1, "write-tput ops/s", 300.0),
            fig("zookeeper", 1, "write-tput ops/s", 100.0),
            fig("conclave", 2, "write-tput ops/s", 500.0),
            fig("zookeeper", 2, "write-tput ops/s", 100.0),
            fig("conclave", 1, "only ours", 7.0),
        ];
        let table = Summary::of(&figures).table(2);
        assert!(table.contains("| write-tput ops/s | 400 | 100 | 4.00× (higher is better) |"));
        assert!(table.contains("| only ours | 7.00 | — | — |"));
        let svg = Summary::of(&figures).svg("t <1>");
        assert!(svg.contains("4.00×") && svg.contains("t &lt;1&gt;"));
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![]), 0.0);
    }
}
