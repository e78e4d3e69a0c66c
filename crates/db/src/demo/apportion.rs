//! Splitting a whole-number total over weighted parts so the parts add up exactly.

/// Largest-remainder apportionment: parts proportional to `weights`, summing to `total`.
pub fn apportion(total: i64, weights: &[f64]) -> Vec<i64> {
    let sum: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    if weights.is_empty() || total <= 0 || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights
        .iter()
        .map(|w| w.max(0.0) / sum * total as f64)
        .collect();
    let mut parts: Vec<i64> = exact.iter().map(|x| x.floor() as i64).collect();
    let mut left = total - parts.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact.get(a).map_or(0.0, |x| x - x.floor());
        let rb = exact.get(b).map_or(0.0, |x| x - x.floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for i in order.into_iter().cycle() {
        if left <= 0 {
            break;
        }
        if let Some(p) = parts.get_mut(i) {
            *p += 1;
            left -= 1;
        }
    }
    parts
}

/// Like [`apportion`], but no part exceeds its cap; what a capped part cannot take
/// goes to the others. When the caps cannot hold the total, every part is full.
pub fn apportion_capped(total: i64, weights: &[f64], caps: &[i64]) -> Vec<i64> {
    let mut out = vec![0i64; weights.len()];
    let mut open: Vec<bool> = caps.iter().map(|c| *c > 0).collect();
    let mut left = total.min(caps.iter().sum());
    while left > 0 {
        let w: Vec<f64> = weights
            .iter()
            .zip(&open)
            .map(|(w, o)| if *o { w.max(1e-9) } else { 0.0 })
            .collect();
        let add = apportion(left, &w);
        let mut placed = 0;
        for (i, a) in add.into_iter().enumerate() {
            let (Some(o), Some(cap), Some(open_i)) = (out.get_mut(i), caps.get(i), open.get_mut(i))
            else {
                continue;
            };
            let take = a.min(cap - *o);
            *o += take;
            placed += take;
            if *o >= *cap {
                *open_i = false;
            }
        }
        left -= placed;
        if placed == 0 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_sum() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(apportion(0, &[1.0]), vec![0]);
    }

    proptest! {
        #[test]
        fn parts_sum_to_total(total in 0i64..10_000_000, w in proptest::collection::vec(0.01f64..100.0, 1..50)) {
            prop_assert_eq!(apportion(total, &w).iter().sum::<i64>(), total);
        }

        #[test]
        fn capped_parts_respect_caps(total in 0i64..100_000, pairs in proptest::collection::vec((0.01f64..10.0, 0i64..5_000), 1..30)) {
            let (w, caps): (Vec<f64>, Vec<i64>) = pairs.into_iter().unzip();
            let out = apportion_capped(total, &w, &caps);
            prop_assert_eq!(out.iter().sum::<i64>(), total.min(caps.iter().sum()));
            for (o, c) in out.iter().zip(&caps) { prop_assert!(o <= c); }
        }
    }
}
