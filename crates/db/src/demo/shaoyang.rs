//! Facts about Shaoyang (邵阳市, 430500) used by the demo: GB/T 2260 county codes,
//! 2020 census figures, approximate county seats, and the 2023 township list.

/// The city's 2020 census totals (常住人口, 城镇人口, 家庭户).
pub const CITY_CODE: &str = "430500";
pub const CITY_NAME: &str = "邵阳市";
pub const CITY_POPULATION: i64 = 6_563_520;
pub const CITY_URBAN_POPULATION: i64 = 3_423_660;
pub const CITY_HOUSEHOLDS: i64 = 2_288_847;

/// One county-level division.
#[derive(Debug, Clone, Copy)]
pub struct County {
    pub code: &'static str,
    pub name: &'static str,
    /// 2020 census resident population where published; otherwise an estimate
    /// (see docs/demo-data.md) chosen so the counties sum to the city total.
    pub population: i64,
    /// Published household count (家庭户), when known.
    pub households: Option<i64>,
    /// Published urban population, when known.
    pub urban_population: Option<i64>,
    /// Rough urbanisation rate used where no urban figure is published.
    pub urban_rate: f64,
    /// Approximate seat (longitude, latitude).
    pub seat: (f64, f64),
}

pub const COUNTIES: [County; 12] = [
    County {
        code: "430502",
        name: "双清区",
        population: 322_800,
        households: None,
        urban_population: None,
        urban_rate: 0.80,
        seat: (111.50, 27.23),
    },
    County {
        code: "430503",
        name: "大祥区",
        population: 362_289,
        households: Some(135_629),
        urban_population: None,
        urban_rate: 0.85,
        seat: (111.45, 27.21),
    },
    County {
        code: "430511",
        name: "北塔区",
        population: 122_658,
        households: None,
        urban_population: None,
        urban_rate: 0.78,
        seat: (111.44, 27.26),
    },
    County {
        code: "430522",
        name: "新邵县",
        population: 628_000,
        households: None,
        urban_population: None,
        urban_rate: 0.42,
        seat: (111.46, 27.32),
    },
    County {
        code: "430523",
        name: "邵阳县",
        population: 752_100,
        households: None,
        urban_population: None,
        urban_rate: 0.38,
        seat: (111.27, 26.99),
    },
    County {
        code: "430524",
        name: "隆回县",
        population: 1_009_800,
        households: None,
        urban_population: None,
        urban_rate: 0.40,
        seat: (111.03, 27.11),
    },
    County {
        code: "430525",
        name: "洞口县",
        population: 675_500,
        households: None,
        urban_population: None,
        urban_rate: 0.41,
        seat: (110.57, 27.06),
    },
    County {
        code: "430527",
        name: "绥宁县",
        population: 270_062,
        households: None,
        urban_population: None,
        urban_rate: 0.40,
        seat: (110.15, 26.58),
    },
    County {
        code: "430528",
        name: "新宁县",
        population: 513_800,
        households: None,
        urban_population: None,
        urban_rate: 0.40,
        seat: (110.85, 26.43),
    },
    County {
        code: "430529",
        name: "城步苗族自治县",
        population: 227_911,
        households: None,
        urban_population: Some(96_140),
        urban_rate: 0.42,
        seat: (110.32, 26.39),
    },
    County {
        code: "430581",
        name: "武冈市",
        population: 640_200,
        households: None,
        urban_population: None,
        urban_rate: 0.50,
        seat: (110.63, 26.73),
    },
    County {
        code: "430582",
        name: "邵东市",
        population: 1_038_400,
        households: None,
        urban_population: None,
        urban_rate: 0.52,
        seat: (111.74, 27.26),
    },
];

/// One township-level unit from the 2023 statistical division codes.
#[derive(Debug, Clone)]
pub struct Township {
    pub code: String,
    pub name: String,
    pub county_code: String,
}

const TOWNSHIPS_CSV: &str = include_str!("shaoyang_townships_2023.csv");

/// The 206 townships/streets, in file order.
pub fn townships() -> Vec<Township> {
    TOWNSHIPS_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split(',');
            let code = f.next()?.trim().to_owned();
            let name = f.next()?.trim().to_owned();
            let county_code = f.next()?.trim().to_owned();
            Some(Township {
                code,
                name,
                county_code,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counties_sum_to_the_census() {
        assert_eq!(
            COUNTIES.iter().map(|c| c.population).sum::<i64>(),
            CITY_POPULATION
        );
    }

    #[test]
    fn all_206_townships_belong_to_a_county() {
        let t = townships();
        assert_eq!(t.len(), 206);
        for tw in &t {
            assert!(
                COUNTIES.iter().any(|c| c.code == tw.county_code),
                "{}",
                tw.code
            );
            assert!(tw.code.starts_with(&tw.county_code));
        }
    }
}
