//! Display masking (脱敏) for exports and lists.
//!
//! ID numbers and phone numbers mask themselves ([`crate::idcard::IdCardNo::masked`],
//! [`crate::phone::Phone::masked`]); this module holds the name rule and the shared helper.

/// Mask a personal name: keep the first and, from three characters on, the last
/// character. 张三 → 张*, 欧阳娜娜 → 欧**娜; a single character stays as it is.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    match name.chars().count() {
        0 | 1 => name.to_owned(),
        2 => mask_middle(name, 1, 0),
        _ => mask_middle(name, 1, 1),
    }
}

/// Keep the first `head` and the last `tail` characters and replace every character in
/// between with `*`. A text too short to hide anything is masked completely.
pub fn mask_middle(text: &str, head: usize, tail: usize) -> String {
    let len = text.chars().count();
    if len <= head + tail {
        return "*".repeat(len);
    }
    let hidden = len - head - tail;
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < head || i >= head + hidden {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("李小龙"), "李*龙");
        assert_eq!(mask_name("王"), "王");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_name(" 张三 "), "张*");
    }

    #[test]
    fn middle() {
        assert_eq!(mask_middle("13812345678", 3, 4), "138****5678");
        assert_eq!(mask_middle("abc", 2, 2), "***");
    }

    proptest! {
        #[test]
        fn mask_keeps_length_and_never_panics(s in "\\PC{0,12}", head in 0usize..5, tail in 0usize..5) {
            prop_assert_eq!(mask_middle(&s, head, tail).chars().count(), s.chars().count());
            let _ = mask_name(&s);
        }
    }
}
