//! Number formatting for pages: 6563520 → "6,563,520"; large counts in 万.

/// Thousands separators.
pub fn int(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// 6563520 → "656.4 万"; below ten thousand, the plain number.
pub fn wan(n: i64) -> String {
    if n.abs() < 10_000 {
        return int(n);
    }
    format!("{:.1} 万", n as f64 / 10_000.0)
}

/// A share as a percentage with one decimal; "—" when the denominator is zero.
pub fn percent(num: i64, den: i64) -> String {
    if den == 0 {
        return "—".into();
    }
    format!("{:.1}%", num as f64 * 100.0 / den as f64)
}

/// The Chinese label of a stored `kind`.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "city" => "市",
        "county" => "县市区",
        "street" => "街道",
        "town" => "镇",
        "township" => "乡",
        "other_township" => "场（区）",
        "community" => "社区",
        "village" => "村",
        "grid" => "网格",
        _ => "",
    }
}

/// The Chinese label of a 城乡分类代码.
pub fn class_label(class: &str) -> &'static str {
    match class {
        "111" => "主城区",
        "112" => "城乡结合区",
        "121" => "镇中心区",
        "122" => "镇乡结合区",
        "123" => "特殊区域",
        "210" => "乡中心区",
        "220" => "村庄",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(6_563_520), "6,563,520");
        assert_eq!(int(999), "999");
        assert_eq!(int(-1000), "-1,000");
        assert_eq!(wan(6_563_520), "656.4 万");
        assert_eq!(wan(9_999), "9,999");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 0), "—");
    }
}
