//! Demo logins: one per role, bound to real divisions of the demo city.

use crate::scope::Actor;
use crate::users::{self, NewUser};
use crate::{Db, Result};
use chrono::{DateTime, Utc};
use shequ_core::{DivisionCode, Role};

/// A login the demo prints.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: &'static str,
    pub role: Role,
    pub division: &'static str,
    pub note: &'static str,
}

/// Every demo login; those whose division is not loaded (small scale) are skipped.
pub const LOGINS: [DemoLogin; 12] = [
    DemoLogin {
        username: "admin",
        role: Role::Admin,
        division: "430500",
        note: "系统管理员（全市）",
    },
    DemoLogin {
        username: "security",
        role: Role::SecurityAdmin,
        division: "430500",
        note: "安全管理员（全市）",
    },
    DemoLogin {
        username: "auditor",
        role: Role::Auditor,
        division: "430500",
        note: "审计员（全市）",
    },
    DemoLogin {
        username: "city",
        role: Role::CityStaff,
        division: "430500",
        note: "市民政局工作人员（全市）",
    },
    DemoLogin {
        username: "county",
        role: Role::CountyStaff,
        division: "430502",
        note: "双清区工作人员",
    },
    DemoLogin {
        username: "county2",
        role: Role::CountyStaff,
        division: "430503",
        note: "大祥区工作人员",
    },
    DemoLogin {
        username: "township",
        role: Role::TownshipStaff,
        division: "430502001",
        note: "兴隆街道工作人员",
    },
    DemoLogin {
        username: "community",
        role: Role::CommunityStaff,
        division: "430502001001",
        note: "兴隆街道第一个社区的社区工作者",
    },
    DemoLogin {
        username: "grid",
        role: Role::GridWorker,
        division: "430502001001001",
        note: "该社区第一网格的网格员",
    },
    DemoLogin {
        username: "dept",
        role: Role::DepartmentStaff,
        division: "430500",
        note: "市直部门工作人员",
    },
    DemoLogin {
        username: "volunteer",
        role: Role::Volunteer,
        division: "430502001001",
        note: "志愿者",
    },
    DemoLogin {
        username: "resident",
        role: Role::Resident,
        division: "430502001001",
        note: "居民",
    },
];

/// The password every demo login gets unless `SHEQU_DEMO_PASSWORD` says otherwise.
pub const DEFAULT_PASSWORD: &str = "Shequ@2025";

/// Create the demo logins with one password hash; returns the ones created.
pub async fn load(db: &Db, password_hash: &str, now: DateTime<Utc>) -> Result<Vec<DemoLogin>> {
    let mut made = Vec::new();
    let mut tx = db.begin().await?;
    for l in LOGINS {
        let Ok(division) = DivisionCode::parse(l.division) else {
            continue;
        };
        if crate::divisions::get(&mut tx.conn(), &division)
            .await?
            .is_none()
        {
            continue;
        }
        let u = NewUser {
            username: l.username.into(),
            display_name: l.note.into(),
            role: l.role,
            division,
            password_hash: password_hash.into(),
        };
        users::create(&mut tx.conn(), &Actor::system(), &u, now).await?;
        made.push(l);
    }
    tx.commit().await?;
    Ok(made)
}
