//! What an indicator counts at one leaf (a village/community or a township), from
//! facts the store gathers. Leaf values are summed upwards, never averaged.

use crate::division::Kind;
use chrono::NaiveDate;

/// One facility as the measures see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacilityFacts {
    pub in_use: bool,
    pub functions: Vec<String>,
    pub floor_area_x100: i64,
    pub activity_area_x100: i64,
    pub space_area_x100: i64,
    pub elderly_land_x100: i64,
    pub open_8h: bool,
}

impl FacilityFacts {
    fn has(&self, f: &str) -> bool {
        self.in_use && self.functions.iter().any(|x| x == f)
    }
}

/// One community worker.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerFacts {
    pub hire_date: NaiveDate,
    pub has_mentor: bool,
    pub active: bool,
}

/// Division attributes of the leaf itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeFacts {
    pub new_build: bool,
    pub building_area_x100: i64,
    pub commercial_area_x100: i64,
    pub broadband: bool,
    pub five_g: bool,
}

/// Services to residents over the last twelve months at a leaf: the work-order
/// counts behind 三率, and how many 好差评 ratings and survey answers it received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceFacts {
    pub orders: crate::workorders::sanlv::Counts,
    pub ratings: i64,
    pub survey_answers: i64,
    /// Special-difficulty elderly on the roster, and those with a valid visit this month.
    pub elderly_roster: i64,
    pub elderly_visited: i64,
    /// Villages/communities (in the leaf's subtree) whose rental points lent an aid in
    /// the last twelve months.
    pub lending_communities: i64,
}

/// Everything the measures need about one leaf. For a township leaf, facilities,
/// workers and designations cover its whole subtree.
#[derive(Debug, Clone)]
pub struct LeafFacts {
    pub kind: Kind,
    pub urban: bool,
    pub population: i64,
    pub urban_population: i64,
    pub households: i64,
    pub facilities: Vec<FacilityFacts>,
    pub workers: Vec<WorkerFacts>,
    pub terminal_present: bool,
    pub attributes: AttributeFacts,
    /// Designation codes held by the leaf or any node below it, one entry per holder.
    pub designations: Vec<String>,
    pub services: ServiceFacts,
    /// The day the computation is for (first-year workers are counted from it).
    pub today: NaiveDate,
}

/// A countable quantity at a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// 1 for every leaf the indicator applies to.
    Leaves,
    /// A denominator of 1 at every node: the indicator is a plain count.
    Unit,
    /// 1 when an in-use facility hosts the function.
    WithFunction(String),
    /// In-use facilities hosting all of these functions.
    Facilities(Vec<String>),
    /// In-use facilities hosting the function and open at least 8 hours a day.
    Open8h(String),
    ServiceArea,
    ActivityArea,
    SpaceArea,
    ElderlyLand,
    Households,
    Population,
    UrbanPopulation,
    TerminalPresent,
    Workers,
    NewWorkers,
    NewWorkersWithMentor,
    Broadband,
    FiveG,
    Designated(String),
    NewBuildCommercialArea,
    NewBuildBuildingArea,
    /// Work orders dispatched / signed for on time (响应率).
    OrdersDispatched,
    OrdersSignedOnTime,
    /// Orders whose reporter said whether it was solved / said it was (解决率).
    OrdersAnswered,
    OrdersSolved,
    /// Rated orders / rated 基本满意 or better (满意率).
    OrdersRated,
    OrdersSatisfied,
    /// 1 when the leaf received any 好差评 rating.
    Rated,
    /// 1 when the leaf answered any satisfaction survey.
    Surveyed,
    /// Special-difficulty elderly on the roster (探访关爱对象).
    ElderlyRoster,
    /// Roster members visited (validly) at least once this month.
    ElderlyVisited,
    /// Communities whose rehab-aid rental points actually lend.
    LendingCommunities,
}

const SERVICE: &str = "comprehensive_service";

impl Measure {
    pub fn parse(s: &str) -> Option<Measure> {
        let s = s.trim();
        if let Some((head, arg)) = s.split_once(':') {
            let arg = arg.trim().to_owned();
            return match head {
                "with_function" => Some(Measure::WithFunction(arg)),
                "facilities" => Some(Measure::Facilities(
                    arg.split('+').map(|x| x.trim().to_owned()).collect(),
                )),
                "open_8h" => Some(Measure::Open8h(arg)),
                "designated" => Some(Measure::Designated(arg)),
                "attribute" => match arg.as_str() {
                    "broadband" => Some(Measure::Broadband),
                    "five_g" => Some(Measure::FiveG),
                    _ => None,
                },
                _ => None,
            };
        }
        Some(match s {
            "leaves" => Measure::Leaves,
            "unit" => Measure::Unit,
            "service_area" => Measure::ServiceArea,
            "activity_area" => Measure::ActivityArea,
            "space_area" => Measure::SpaceArea,
            "elderly_land" => Measure::ElderlyLand,
            "households" => Measure::Households,
            "population" => Measure::Population,
            "urban_population" => Measure::UrbanPopulation,
            "terminal_present" => Measure::TerminalPresent,
            "workers" => Measure::Workers,
            "new_workers" => Measure::NewWorkers,
            "new_workers_with_mentor" => Measure::NewWorkersWithMentor,
            "new_build_commercial_area" => Measure::NewBuildCommercialArea,
            "new_build_building_area" => Measure::NewBuildBuildingArea,
            "orders_dispatched" => Measure::OrdersDispatched,
            "orders_signed_on_time" => Measure::OrdersSignedOnTime,
            "orders_answered" => Measure::OrdersAnswered,
            "orders_solved" => Measure::OrdersSolved,
            "orders_rated" => Measure::OrdersRated,
            "orders_satisfied" => Measure::OrdersSatisfied,
            "rated" => Measure::Rated,
            "surveyed" => Measure::Surveyed,
            "elderly_roster" => Measure::ElderlyRoster,
            "elderly_visited" => Measure::ElderlyVisited,
            "lending_communities" => Measure::LendingCommunities,
            _ => return None,
        })
    }

    /// The measure's value at one leaf.
    pub fn eval(&self, leaf: &LeafFacts) -> i64 {
        let fac = &leaf.facilities;
        let sum = |f: &dyn Fn(&FacilityFacts) -> i64| {
            fac.iter().filter(|x| x.has(SERVICE)).map(f).sum::<i64>()
        };
        let first_year = |w: &&WorkerFacts| {
            w.active && (leaf.today - w.hire_date).num_days() < 365 && w.hire_date <= leaf.today
        };
        match self {
            Measure::Leaves => 1,
            Measure::Unit => 0,
            Measure::WithFunction(f) => i64::from(fac.iter().any(|x| x.has(f))),
            Measure::Facilities(fs) => {
                fac.iter().filter(|x| fs.iter().all(|f| x.has(f))).count() as i64
            }
            Measure::Open8h(f) => fac.iter().filter(|x| x.has(f) && x.open_8h).count() as i64,
            Measure::ServiceArea => sum(&|x| x.floor_area_x100),
            Measure::ActivityArea => sum(&|x| x.activity_area_x100),
            Measure::SpaceArea => sum(&|x| x.space_area_x100),
            Measure::ElderlyLand => fac
                .iter()
                .filter(|x| x.in_use)
                .map(|x| x.elderly_land_x100)
                .sum(),
            Measure::Households => leaf.households,
            Measure::Population => leaf.population,
            Measure::UrbanPopulation => leaf.urban_population,
            Measure::TerminalPresent => i64::from(leaf.terminal_present),
            Measure::Workers => leaf.workers.iter().filter(|w| w.active).count() as i64,
            Measure::NewWorkers => leaf.workers.iter().filter(first_year).count() as i64,
            Measure::NewWorkersWithMentor => leaf
                .workers
                .iter()
                .filter(first_year)
                .filter(|w| w.has_mentor)
                .count() as i64,
            Measure::Broadband => i64::from(leaf.attributes.broadband),
            Measure::FiveG => i64::from(leaf.attributes.five_g),
            Measure::Designated(d) => leaf.designations.iter().filter(|x| *x == d).count() as i64,
            Measure::NewBuildCommercialArea => {
                if leaf.attributes.new_build {
                    leaf.attributes.commercial_area_x100
                } else {
                    0
                }
            }
            Measure::OrdersDispatched => leaf.services.orders.dispatched,
            Measure::OrdersSignedOnTime => leaf.services.orders.signed_on_time,
            Measure::OrdersAnswered => leaf.services.orders.answered,
            Measure::OrdersSolved => leaf.services.orders.solved,
            Measure::OrdersRated => leaf.services.orders.rated,
            Measure::OrdersSatisfied => leaf.services.orders.levels.iter().take(3).sum(),
            Measure::Rated => i64::from(leaf.services.ratings > 0),
            Measure::Surveyed => i64::from(leaf.services.survey_answers > 0),
            Measure::ElderlyRoster => leaf.services.elderly_roster,
            Measure::ElderlyVisited => leaf.services.elderly_visited,
            Measure::LendingCommunities => leaf.services.lending_communities,
            Measure::NewBuildBuildingArea => {
                if leaf.attributes.new_build {
                    leaf.attributes.building_area_x100
                } else {
                    0
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf() -> LeafFacts {
        LeafFacts {
            kind: Kind::Community,
            urban: true,
            population: 3000,
            urban_population: 3000,
            households: 1000,
            facilities: vec![FacilityFacts {
                in_use: true,
                functions: vec![SERVICE.into(), "volunteer_station".into()],
                floor_area_x100: 50_000,
                activity_area_x100: 32_000,
                space_area_x100: 48_000,
                elderly_land_x100: 0,
                open_8h: true,
            }],
            workers: vec![
                WorkerFacts {
                    hire_date: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
                    has_mentor: false,
                    active: true,
                },
                WorkerFacts {
                    hire_date: NaiveDate::from_ymd_opt(2015, 1, 1).unwrap(),
                    has_mentor: false,
                    active: true,
                },
            ],
            terminal_present: true,
            attributes: AttributeFacts::default(),
            designations: vec![],
            services: ServiceFacts {
                orders: crate::workorders::sanlv::Counts {
                    dispatched: 10,
                    signed_on_time: 9,
                    rated: 4,
                    levels: [1, 1, 1, 1, 0],
                    ..Default::default()
                },
                ratings: 3,
                survey_answers: 0,
                elderly_roster: 5,
                elderly_visited: 4,
                lending_communities: 2,
            },
            today: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
        }
    }

    #[test]
    fn measures_at_a_leaf() {
        let l = leaf();
        let m = |s: &str| Measure::parse(s).unwrap().eval(&l);
        assert_eq!(m("with_function:comprehensive_service"), 1);
        assert_eq!(m("with_function:day_care"), 0);
        assert_eq!(m("facilities:comprehensive_service+volunteer_station"), 1);
        assert_eq!(m("open_8h:comprehensive_service"), 1);
        assert_eq!(m("service_area"), 50_000);
        assert_eq!(m("orders_signed_on_time"), 9);
        assert_eq!(m("orders_satisfied"), 3);
        assert_eq!((m("rated"), m("surveyed")), (1, 0));
        assert_eq!(
            (
                m("elderly_roster"),
                m("elderly_visited"),
                m("lending_communities")
            ),
            (5, 4, 2)
        );
        assert_eq!(m("workers"), 2);
        assert_eq!(m("new_workers"), 1);
        assert_eq!(m("new_workers_with_mentor"), 0);
        assert!(Measure::parse("nonsense").is_none());
        assert!(Measure::parse("attribute:color").is_none());
    }

    #[test]
    fn closed_facilities_do_not_count() {
        let mut l = leaf();
        l.facilities[0].in_use = false;
        assert_eq!(
            Measure::parse("with_function:comprehensive_service")
                .unwrap()
                .eval(&l),
            0
        );
        assert_eq!(Measure::ServiceArea.eval(&l), 0);
    }
}
