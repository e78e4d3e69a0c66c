//! The home page: the city at a glance.

use super::fmt::{int, percent, wan};
use super::{Ctx, Layout, PageError};
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use shequ_core::Level;

pub struct Stat {
    pub label: &'static str,
    pub value: String,
    pub note: String,
}

pub struct CountyRow {
    pub code: String,
    pub name: String,
    pub population: String,
    pub households: String,
    pub urban_share: String,
    pub townships: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub city_name: String,
    pub city_code: String,
    pub stats: Vec<Stat>,
    pub counties: Vec<CountyRow>,
}

pub async fn page(State(st): State<AppState>, ctx: Ctx) -> Result<HomePage, PageError> {
    let tree = st.tree.get();
    let Some(city) = tree.root() else {
        return Ok(HomePage {
            layout: ctx.layout("首页", "home"),
            city_name: "尚未导入区划".into(),
            city_code: String::new(),
            stats: Vec::new(),
            counties: Vec::new(),
        });
    };
    let counts = tree.counts_below(&city.code);
    let n = |l: Level| counts.get(&l).copied().unwrap_or(0);
    let stats = vec![
        Stat {
            label: "常住人口",
            value: wan(city.population),
            note: format!("{} 人", int(city.population)),
        },
        Stat {
            label: "户数",
            value: wan(city.households),
            note: format!("{} 户", int(city.households)),
        },
        Stat {
            label: "城镇化率",
            value: percent(city.urban_population, city.population),
            note: format!("城镇人口 {}", wan(city.urban_population)),
        },
        Stat {
            label: "县市区",
            value: int(n(Level::County)),
            note: "个".into(),
        },
        Stat {
            label: "乡镇（街道）",
            value: int(n(Level::Township)),
            note: "个".into(),
        },
        Stat {
            label: "村（社区）",
            value: int(n(Level::Village)),
            note: "个".into(),
        },
        Stat {
            label: "网格",
            value: int(n(Level::Grid)),
            note: "个".into(),
        },
    ];
    let counties = tree
        .children(Some(&city.code))
        .unwrap_or_default()
        .into_iter()
        .map(|c| CountyRow {
            code: c.code.clone(),
            name: c.name.clone(),
            population: int(c.population),
            households: int(c.households),
            urban_share: percent(c.urban_population, c.population),
            townships: tree.child_count(&c.code),
        })
        .collect();
    Ok(HomePage {
        layout: ctx.layout("首页", "home"),
        city_name: city.name.clone(),
        city_code: city.code.clone(),
        stats,
        counties,
    })
}
