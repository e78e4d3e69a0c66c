//! Plausible names for generated villages, communities and grids.

use shequ_core::rng::SeededRng;
use std::collections::HashSet;

const COMMUNITY_WORDS: [&str; 48] = [
    "和平", "建设", "东风", "解放", "向阳", "新华", "桃花", "宝庆", "文昌", "青龙", "白马", "红旗",
    "光明", "幸福", "团结", "胜利", "朝阳", "滨江", "东门", "西湖", "南岳", "北塔", "紫薇", "莲湖",
    "双拥", "振兴", "育才", "敏州", "资江", "迎春", "金盆", "梅园", "佘湖", "龙山", "凤凰", "九龙",
    "狮子", "宝塔", "石门", "玉屏", "云山", "竹城", "新城", "昭阳", "兴隆", "城南", "城北", "五一",
];

const VILLAGE_FIRST: [&str; 40] = [
    "石", "桥", "塘", "山", "龙", "凤", "白", "青", "金", "黄", "枫", "杨", "柳", "竹", "梅", "桃",
    "新", "大", "小", "高", "长", "双", "三", "五", "田", "江", "河", "湾", "岭", "坪", "冲", "溪",
    "岩", "坳", "铺", "湖", "桂", "荷", "茶", "花",
];

const VILLAGE_SECOND: [&str; 32] = [
    "塘", "山", "坪", "冲", "湾", "桥", "岭", "溪", "田", "林", "家", "园", "岩", "坳", "湖", "江",
    "源", "峰", "口", "洲", "岗", "铺", "泉", "堰", "垅", "竹", "木", "石", "陂", "井", "坝", "庄",
];

/// Hands out names unique within one township.
#[derive(Debug, Default)]
pub struct NamePool {
    used: HashSet<String>,
}

impl NamePool {
    pub fn community(&mut self, rng: &mut SeededRng) -> String {
        self.unique(
            rng,
            |r| format!("{}社区", r.pick(&COMMUNITY_WORDS).copied().unwrap_or("新")),
            "社区",
        )
    }

    pub fn village(&mut self, rng: &mut SeededRng) -> String {
        self.unique(
            rng,
            |r| {
                format!(
                    "{}{}村",
                    r.pick(&VILLAGE_FIRST).copied().unwrap_or("新"),
                    r.pick(&VILLAGE_SECOND).copied().unwrap_or("村")
                )
            },
            "村",
        )
    }

    fn unique(
        &mut self,
        rng: &mut SeededRng,
        make: impl Fn(&mut SeededRng) -> String,
        suffix: &str,
    ) -> String {
        for _ in 0..64 {
            let n = make(rng);
            if self.used.insert(n.clone()) {
                return n;
            }
        }
        let n = format!("第{}{}", chinese_number(self.used.len() as u32 + 1), suffix);
        self.used.insert(n.clone());
        n
    }
}

/// 1 → 一, 12 → 十二, 40 → 四十, 99 → 九十九; larger numbers in digits.
pub fn chinese_number(n: u32) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let d = |i: u32| D.get(i as usize).copied().unwrap_or("");
    match n {
        0..=9 => d(n).to_owned(),
        10..=19 => format!("十{}", if n == 10 { "" } else { d(n - 10) }),
        20..=99 => format!(
            "{}十{}",
            d(n / 10),
            if n.is_multiple_of(10) { "" } else { d(n % 10) }
        ),
        _ => n.to_string(),
    }
}

/// "第三网格".
pub fn grid_name(n: u32) -> String {
    format!("第{}网格", chinese_number(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(chinese_number(1), "一");
        assert_eq!(chinese_number(10), "十");
        assert_eq!(chinese_number(12), "十二");
        assert_eq!(chinese_number(40), "四十");
        assert_eq!(chinese_number(99), "九十九");
        assert_eq!(grid_name(3), "第三网格");
    }

    #[test]
    fn names_are_unique() {
        let mut pool = NamePool::default();
        let mut rng = SeededRng::new(3);
        let names: HashSet<String> = (0..200).map(|_| pool.village(&mut rng)).collect();
        assert_eq!(names.len(), 200);
    }
}
