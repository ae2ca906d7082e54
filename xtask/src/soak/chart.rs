//! The soak's samples as a small SVG: one panel per series, each on its own scale, the quiet
//! samples drawn as dots (the line between two loaded samples skips them) and the end of the
//! warm-up marked. Written by hand: a few polylines need no plotting crate.

use std::fmt::Write as _;
use std::time::Duration;

use super::sample::{Phase, Sample};

const WIDTH: f64 = 720.0;
const PANEL_HEIGHT: f64 = 110.0;
const MARGIN_LEFT: f64 = 150.0;
const MARGIN_RIGHT: f64 = 20.0;
const COLOURS: [&str; 3] = ["#2563eb", "#059669", "#d97706"];

/// The chart of `samples`, with the warm-up's end (the quiet baseline) as a dashed line.
pub(crate) fn svg(samples: &[Sample]) -> String {
    let warm_up =
        samples.iter().find(|s| s.phase == Phase::QuietBaseline).map_or(Duration::ZERO, |s| s.at);
    let height = PANEL_HEIGHT * 3.0 + 30.0;
    let end = samples.last().map_or(1.0, |s| s.at.as_secs_f64()).max(1.0);
    let x = |at: f64| MARGIN_LEFT + at / end * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT);
    let mut text = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" \
         fill=\"white\"/>\n"
    );
    for (index, colour) in COLOURS.iter().enumerate() {
        let top = PANEL_HEIGHT * index as f64 + 10.0;
        let values: Vec<f64> = samples.iter().map(|s| s.values()[index].1).collect();
        let name = samples.first().map_or("", |s| s.values()[index].0);
        let (low, high) =
            values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        // Scale from zero: growth reads true; a flat line near the top means steady.
        let (low, high) = (0.0_f64.min(low), high.max(low + 1.0));
        let y = |value: f64| top + 80.0 - (value - low) / (high - low) * 80.0;
        let point = |sample: &Sample, value: f64| {
            format!("{:.1},{:.1}", x(sample.at.as_secs_f64()), y(value))
        };
        let loaded = |sample: &&Sample| matches!(sample.phase, Phase::WarmUp | Phase::Loaded);
        let points: Vec<String> = samples
            .iter()
            .zip(&values)
            .filter(|(sample, _)| loaded(sample))
            .map(|(sample, &value)| point(sample, value))
            .collect();
        for (sample, &value) in samples.iter().zip(&values).filter(|(s, _)| !loaded(s)) {
            let (cx, cy) = point(sample, value).split_once(',').map_or_else(
                || (String::new(), String::new()),
                |(a, b)| (a.to_owned(), b.to_owned()),
            );
            let _ = writeln!(text, "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"3\" fill=\"{colour}\"/>");
        }
        let _ = writeln!(
            text,
            "<text x=\"10\" y=\"{:.0}\">{name}</text>\n<text x=\"10\" y=\"{:.0}\" fill=\"#555\">\
             0 – {high:.0}</text>\n<line x1=\"{MARGIN_LEFT}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" \
             stroke=\"#ccc\"/>\n<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" \
             points=\"{}\"/>",
            top + 35.0,
            top + 52.0,
            top + 80.0,
            WIDTH - MARGIN_RIGHT,
            top + 80.0,
            points.join(" ")
        );
    }
    let warm = x(warm_up.as_secs_f64());
    let _ = writeln!(
        text,
        "<line x1=\"{warm:.1}\" y1=\"5\" x2=\"{warm:.1}\" y2=\"{:.0}\" stroke=\"#999\" \
         stroke-dasharray=\"4 4\"/>\n<text x=\"{:.1}\" y=\"{:.0}\" fill=\"#555\">end of warm-up \
         · dots: quiet samples · {:.0} s in all</text>\n</svg>",
        PANEL_HEIGHT * 3.0,
        warm + 4.0,
        height - 8.0,
        end
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_drawn_with_the_warm_up_marked() {
        let samples: Vec<Sample> = (0..5)
            .map(|i| Sample {
                at: Duration::from_secs(i * 10),
                phase: if i == 2 { Phase::QuietBaseline } else { Phase::Loaded },
                rss_kib: 40_000 + i * 10,
                open_fds: 30,
                tasks: 12,
            })
            .collect();
        let svg = svg(&samples);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("RSS (MiB)") && svg.contains("tokio tasks"));
        assert!(svg.contains("end of warm-up"));
        assert_eq!(svg.matches("<circle").count(), 3, "one quiet sample in each panel");
    }
}
