//! Charts drawn as SVG on the server: bars against a target, a map of a node's
//! children coloured against the target, and a monthly trend line. No script,
//! no external assets; every text is XML-escaped.

use std::fmt::Write;

/// How a node stands against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Met,
    Unmet,
    NoData,
}

impl Standing {
    pub fn class(self) -> &'static str {
        match self {
            Standing::Met => "met",
            Standing::Unmet => "unmet",
            Standing::NoData => "nodata",
        }
    }
}

/// One bar or map cell.
#[derive(Debug, Clone)]
pub struct Item {
    pub label: String,
    pub value: Option<f64>,
    pub standing: Standing,
    pub href: String,
    /// "86.2%" — what the chart prints.
    pub text: String,
    /// Centroid, for the map.
    pub at: Option<(f64, f64)>,
}

pub fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// Horizontal bars, one per item, with a dashed line at the target.
pub fn bars(items: &[Item], target: Option<f64>, title: &str) -> String {
    let row = 34.0;
    let (label_w, bar_w, width) = (120.0, 170.0, 360.0);
    let height = 30.0 + row * items.len() as f64;
    let max = items
        .iter()
        .filter_map(|i| i.value)
        .chain(target)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart bars" viewBox="0 0 {width} {height:.0}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for (i, it) in items.iter().enumerate() {
        let y = 20.0 + row * i as f64;
        let w = it.value.map_or(0.0, |v| (v / max * bar_w).max(1.0));
        let _ = write!(
            s,
            r#"<a href="{}"><text class="label" x="{:.0}" y="{:.0}" text-anchor="end">{}</text><rect class="bar {}" x="{label_w}" y="{:.0}" width="{w:.1}" height="22" rx="3"/><text class="val" x="{:.0}" y="{:.0}">{}</text></a>"#,
            escape(&it.href),
            label_w - 6.0,
            y + 16.0,
            escape(&short(&it.label, 7)),
            it.standing.class(),
            y,
            label_w + w + 4.0,
            y + 16.0,
            escape(&it.text)
        );
    }
    if let Some(t) = target {
        let x = label_w + t / max * bar_w;
        let _ = write!(
            s,
            r#"<line class="target" x1="{x:.1}" y1="10" x2="{x:.1}" y2="{:.0}"/><text class="target-label" x="{x:.1}" y="9" text-anchor="middle">目标</text>"#,
            height - 4.0
        );
    }
    s.push_str("</svg>");
    s
}

/// A map of the items: each a Voronoi cell around its centroid, coloured by standing.
pub fn map(items: &[Item], title: &str) -> String {
    let located: Vec<(&Item, (f64, f64))> =
        items.iter().filter_map(|i| i.at.map(|p| (i, p))).collect();
    let (w, h, pad) = (360.0, 300.0, 16.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart map" viewBox="0 0 {w} {h}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    if located.is_empty() {
        s.push_str(r#"<text x="180" y="150" text-anchor="middle">暂无位置数据</text></svg>"#);
        return s;
    }
    let points = project(
        &located.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        w,
        h,
        pad,
    );
    let bbox = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    for (k, ((it, _), p)) in located.iter().zip(&points).enumerate() {
        let mut cell: Vec<(f64, f64)> = bbox.to_vec();
        for (j, q) in points.iter().enumerate() {
            if j != k {
                cell = clip(&cell, *p, *q);
            }
        }
        let path: String = cell
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = write!(
            s,
            r#"<a href="{}"><polygon class="cell {}" points="{path}"><title>{}：{}</title></polygon><text class="cell-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></a>"#,
            escape(&it.href),
            it.standing.class(),
            escape(&it.label),
            escape(&it.text),
            p.0,
            p.1 + 4.0,
            escape(&short(&it.label, 4))
        );
    }
    s.push_str("</svg>");
    s
}

/// Scale lon/lat into the box, keeping proportions (longitude shrunk by cos(lat)).
fn project(pts: &[(f64, f64)], w: f64, h: f64, pad: f64) -> Vec<(f64, f64)> {
    let lat0 = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let k = lat0.to_radians().cos();
    let xs: Vec<f64> = pts.iter().map(|p| p.0 * k).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let (x0, x1) = (
        xs.iter().copied().fold(f64::MAX, f64::min),
        xs.iter().copied().fold(f64::MIN, f64::max),
    );
    let (y0, y1) = (
        ys.iter().copied().fold(f64::MAX, f64::min),
        ys.iter().copied().fold(f64::MIN, f64::max),
    );
    let span = (x1 - x0).max(y1 - y0).max(1e-6);
    let scale = ((w - 2.0 * pad) / span).min((h - 2.0 * pad) / span);
    let (ox, oy) = ((w - (x1 - x0) * scale) / 2.0, (h - (y1 - y0) * scale) / 2.0);
    xs.iter()
        .zip(&ys)
        .map(|(x, y)| (ox + (x - x0) * scale, h - (oy + (y - y0) * scale)))
        .collect()
}

/// Keep the part of polygon `poly` nearer to `p` than to `q` (Sutherland–Hodgman).
fn clip(poly: &[(f64, f64)], p: (f64, f64), q: (f64, f64)) -> Vec<(f64, f64)> {
    let (mx, my) = ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
    let (nx, ny) = (q.0 - p.0, q.1 - p.1);
    let side = |a: (f64, f64)| (a.0 - mx) * nx + (a.1 - my) * ny;
    let mut out = Vec::new();
    for i in 0..poly.len() {
        let (Some(&a), Some(&b)) = (poly.get(i), poly.get((i + 1) % poly.len())) else {
            continue;
        };
        let (sa, sb) = (side(a), side(b));
        if sa <= 0.0 {
            out.push(a);
        }
        if (sa <= 0.0) != (sb <= 0.0) {
            let t = sa / (sa - sb);
            out.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
        }
    }
    out
}

/// Monthly values as a line, with the target dashed.
pub fn trend(points: &[(String, Option<f64>)], target: Option<f64>, title: &str) -> String {
    let (w, h, left, bottom) = (360.0, 180.0, 36.0, 24.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart trend" viewBox="0 0 {w} {h}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    let vals: Vec<f64> = points.iter().filter_map(|p| p.1).chain(target).collect();
    if points.len() < 2 || vals.is_empty() {
        s.push_str(
            r#"<text x="180" y="90" text-anchor="middle">快照不足两个月，暂无趋势</text></svg>"#,
        );
        return s;
    }
    let (lo, hi) = (
        vals.iter().copied().fold(f64::MAX, f64::min).min(0.0),
        vals.iter().copied().fold(f64::MIN, f64::max).max(1e-9),
    );
    let x = |i: usize| left + (w - left - 10.0) * i as f64 / (points.len() - 1) as f64;
    let y = |v: f64| 10.0 + (h - bottom - 10.0) * (1.0 - (v - lo) / (hi - lo).max(1e-9));
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .filter_map(|(i, (_, v))| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
        .collect();
    let _ = write!(s, r#"<polyline class="line" points="{}"/>"#, line.join(" "));
    if let Some(t) = target {
        let _ = write!(
            s,
            r#"<line class="target" x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
            y(t),
            w - 10.0,
            y(t)
        );
    }
    for (i, (m, _)) in points.iter().enumerate() {
        if i == 0 || i + 1 == points.len() || i % 3 == 0 {
            let _ = write!(
                s,
                r#"<text class="tick" x="{:.1}" y="{:.0}" text-anchor="middle">{}</text>"#,
                x(i),
                h - 6.0,
                escape(m.get(2..).unwrap_or(m))
            );
        }
    }
    let _ = write!(
        s,
        r#"<text class="tick" x="2" y="{:.0}">{}</text><text class="tick" x="2" y="{:.0}">{}</text>"#,
        y(hi) + 4.0,
        compact(hi),
        y(lo),
        compact(lo)
    );
    s.push_str("</svg>");
    s
}

fn compact(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn short(s: &str, n: usize) -> String {
    let c: Vec<char> = s.chars().collect();
    if c.len() <= n {
        s.to_owned()
    } else {
        c.iter().take(n).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(label: &str, v: Option<f64>, at: (f64, f64)) -> Item {
        Item {
            label: label.into(),
            value: v,
            standing: Standing::Met,
            href: "/x".into(),
            text: "1".into(),
            at: Some(at),
        }
    }

    #[test]
    fn voronoi_cells_partition_the_box() {
        let items = [
            item("甲", Some(1.0), (111.0, 27.0)),
            item("乙", Some(2.0), (111.5, 27.2)),
            item("丙", None, (111.2, 26.8)),
        ];
        let svg = map(&items, "图");
        assert_eq!(svg.matches("<polygon").count(), 3);
        // Clipping a square by the bisector of two points halves it.
        let half = clip(
            &[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)],
            (2.0, 5.0),
            (8.0, 5.0),
        );
        let area: f64 = (0..half.len())
            .map(|i| {
                let (a, b) = (half[i], half[(i + 1) % half.len()]);
                a.0 * b.1 - b.0 * a.1
            })
            .sum::<f64>()
            .abs()
            / 2.0;
        assert!((area - 50.0).abs() < 1e-9);
    }

    #[test]
    fn text_is_escaped() {
        let items = [item("<b>&", Some(1.0), (111.0, 27.0))];
        let svg = bars(&items, Some(2.0), "t");
        assert!(svg.contains("&lt;b&gt;&amp;") && !svg.contains("<b>"));
        assert!(trend(&[("2025-01".into(), Some(1.0))], None, "t").contains("暂无趋势"));
    }
}
