//! Roles and what they may do.
//!
//! The three system roles follow 三员分立 (GB/T 22239 separation of duties): the system
//! administrator manages accounts, the security administrator manages roles and
//! credentials, the auditor reads the audit log, and none of them reads resident data.
//! Row scope (which divisions a user sees) is decided elsewhere from the user's division;
//! [`Role::expected_level`] tells which level that division should have.

use crate::division::Level;
use serde::{Deserialize, Serialize};

/// A user's role. `as_str` values are a contract shared with the database and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    SecurityAdmin,
    Auditor,
    CityStaff,
    CountyStaff,
    TownshipStaff,
    CommunityStaff,
    GridWorker,
    DepartmentStaff,
    Volunteer,
    Resident,
}

/// Something a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Create and disable accounts, edit their division (admin only).
    ManageUsers,
    /// Change roles, unlock accounts, reset passwords, revoke tokens (security_admin only).
    ManageSecurity,
    /// Read the audit log (auditor only).
    ReadAudit,
    /// Read resident records within the user's division.
    ReadPeople,
    /// Create and edit resident records within the user's division.
    WritePeople,
    /// See protected fields (full ID and phone numbers) in clear, one audited record at a time.
    RevealProtected,
    /// Export resident lists.
    ExportPeople,
    /// Read the plan-target monitor (dashboards, gap lists, reports) for the user's division.
    ReadIndicators,
    /// Keep the facility and workforce registries, and set stricter local targets.
    WriteRegistries,
    /// Take in, sign for, handle and reply to work orders (接诉即办).
    HandleWorkOrders,
    /// Dispatch, transfer, merge, approve extensions, supervise; edit dispatch rules.
    DispatchWorkOrders,
    /// Build satisfaction surveys and enter paper answers.
    ManageSurveys,
    /// Register volunteers, keep teams and stations, publish activities, confirm and correct
    /// hours, issue and revoke certificates, post time-bank entries.
    ManageVolunteers,
    /// Keep the special-difficulty elderly roster, its tiers, visit plans and visitors.
    ManageCare,
    /// Record visits to the elderly one is assigned to (or any within one's division).
    VisitElderly,
    /// Keep rehab-aid rental points, their inventory, loans and returns.
    ManageRentals,
}

impl Capability {
    pub const ALL: [Capability; 16] = [
        Capability::ManageUsers,
        Capability::ManageSecurity,
        Capability::ReadAudit,
        Capability::ReadPeople,
        Capability::WritePeople,
        Capability::RevealProtected,
        Capability::ExportPeople,
        Capability::ReadIndicators,
        Capability::WriteRegistries,
        Capability::HandleWorkOrders,
        Capability::DispatchWorkOrders,
        Capability::ManageSurveys,
        Capability::ManageVolunteers,
        Capability::ManageCare,
        Capability::VisitElderly,
        Capability::ManageRentals,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::ManageUsers => "manage_users",
            Capability::ManageSecurity => "manage_security",
            Capability::ReadAudit => "read_audit",
            Capability::ReadPeople => "read_people",
            Capability::WritePeople => "write_people",
            Capability::RevealProtected => "reveal_protected",
            Capability::ExportPeople => "export_people",
            Capability::ReadIndicators => "read_indicators",
            Capability::WriteRegistries => "write_registries",
            Capability::HandleWorkOrders => "handle_work_orders",
            Capability::DispatchWorkOrders => "dispatch_work_orders",
            Capability::ManageSurveys => "manage_surveys",
            Capability::ManageVolunteers => "manage_volunteers",
            Capability::ManageCare => "manage_care",
            Capability::VisitElderly => "visit_elderly",
            Capability::ManageRentals => "manage_rentals",
        }
    }
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::Admin,
        Role::SecurityAdmin,
        Role::Auditor,
        Role::CityStaff,
        Role::CountyStaff,
        Role::TownshipStaff,
        Role::CommunityStaff,
        Role::GridWorker,
        Role::DepartmentStaff,
        Role::Volunteer,
        Role::Resident,
    ];

    /// Stable ASCII name (contract).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::SecurityAdmin => "security_admin",
            Role::Auditor => "auditor",
            Role::CityStaff => "city_staff",
            Role::CountyStaff => "county_staff",
            Role::TownshipStaff => "township_staff",
            Role::CommunityStaff => "community_staff",
            Role::GridWorker => "grid_worker",
            Role::DepartmentStaff => "department_staff",
            Role::Volunteer => "volunteer",
            Role::Resident => "resident",
        }
    }

    /// Parses the ASCII name exactly as `as_str` returns it.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role's name in Chinese, as shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::SecurityAdmin => "安全管理员",
            Role::Auditor => "审计员",
            Role::CityStaff => "市级工作人员",
            Role::CountyStaff => "县级工作人员",
            Role::TownshipStaff => "乡镇（街道）工作人员",
            Role::CommunityStaff => "社区工作人员",
            Role::GridWorker => "网格员",
            Role::DepartmentStaff => "部门工作人员",
            Role::Volunteer => "志愿者",
            Role::Resident => "居民",
        }
    }

    /// Whether this role may do `capability`.
    pub fn can(self, capability: Capability) -> bool {
        use Capability as C;
        use Role as R;
        match capability {
            C::ManageUsers => self == R::Admin,
            C::ManageSecurity => self == R::SecurityAdmin,
            C::ReadAudit => self == R::Auditor,
            C::ReadPeople => self.is_division_staff() || self == R::GridWorker,
            C::WritePeople => matches!(self, R::TownshipStaff | R::CommunityStaff | R::GridWorker),
            C::RevealProtected | C::ExportPeople => self.is_division_staff(),
            C::ReadIndicators => self.is_staff(),
            C::WriteRegistries => {
                matches!(self, R::CountyStaff | R::TownshipStaff | R::CommunityStaff)
            }
            C::HandleWorkOrders => self.is_staff(),
            C::DispatchWorkOrders => {
                matches!(self, R::CityStaff | R::CountyStaff | R::TownshipStaff)
            }
            C::ManageSurveys => self.is_division_staff(),
            C::ManageVolunteers | C::ManageCare | C::ManageRentals => self.is_division_staff(),
            C::VisitElderly => {
                self.is_division_staff() || matches!(self, R::GridWorker | R::Volunteer)
            }
        }
    }

    /// Government and community workers (工作人员): the staff of every division level,
    /// grid workers and department staff. Not the three system roles, volunteers or
    /// residents.
    pub fn is_staff(self) -> bool {
        self.is_division_staff() || matches!(self, Role::GridWorker | Role::DepartmentStaff)
    }

    /// The level of the division a user of this role is bound to; `None` means any level.
    pub fn expected_level(self) -> Option<Level> {
        match self {
            Role::Admin | Role::SecurityAdmin | Role::Auditor | Role::CityStaff => {
                Some(Level::City)
            }
            Role::CountyStaff => Some(Level::County),
            Role::TownshipStaff => Some(Level::Township),
            Role::CommunityStaff => Some(Level::Village),
            Role::GridWorker => Some(Level::Grid),
            Role::DepartmentStaff | Role::Volunteer | Role::Resident => None,
        }
    }

    /// City, county, township and community staff.
    fn is_division_staff(self) -> bool {
        matches!(
            self,
            Role::CityStaff | Role::CountyStaff | Role::TownshipStaff | Role::CommunityStaff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::TownshipStaff.label(), "乡镇（街道）工作人员");
    }

    /// The full capability table; a change here is a change of the security model.
    #[test]
    fn capability_table() {
        use Capability::*;
        let table: [(Role, &[Capability]); 11] = [
            (Role::Admin, &[ManageUsers]),
            (Role::SecurityAdmin, &[ManageSecurity]),
            (Role::Auditor, &[ReadAudit]),
            (
                Role::CityStaff,
                &[
                    ReadPeople,
                    RevealProtected,
                    ExportPeople,
                    ReadIndicators,
                    HandleWorkOrders,
                    DispatchWorkOrders,
                    ManageSurveys,
                    ManageVolunteers,
                    ManageCare,
                    VisitElderly,
                    ManageRentals,
                ],
            ),
            (
                Role::CountyStaff,
                &[
                    ReadPeople,
                    RevealProtected,
                    ExportPeople,
                    ReadIndicators,
                    WriteRegistries,
                    HandleWorkOrders,
                    DispatchWorkOrders,
                    ManageSurveys,
                    ManageVolunteers,
                    ManageCare,
                    VisitElderly,
                    ManageRentals,
                ],
            ),
            (
                Role::TownshipStaff,
                &[
                    ReadPeople,
                    WritePeople,
                    RevealProtected,
                    ExportPeople,
                    ReadIndicators,
                    WriteRegistries,
                    HandleWorkOrders,
                    DispatchWorkOrders,
                    ManageSurveys,
                    ManageVolunteers,
                    ManageCare,
                    VisitElderly,
                    ManageRentals,
                ],
            ),
            (
                Role::CommunityStaff,
                &[
                    ReadPeople,
                    WritePeople,
                    RevealProtected,
                    ExportPeople,
                    ReadIndicators,
                    WriteRegistries,
                    HandleWorkOrders,
                    ManageSurveys,
                    ManageVolunteers,
                    ManageCare,
                    VisitElderly,
                    ManageRentals,
                ],
            ),
            (
                Role::GridWorker,
                &[
                    ReadPeople,
                    WritePeople,
                    ReadIndicators,
                    HandleWorkOrders,
                    VisitElderly,
                ],
            ),
            (Role::DepartmentStaff, &[ReadIndicators, HandleWorkOrders]),
            (Role::Volunteer, &[VisitElderly]),
            (Role::Resident, &[]),
        ];
        for (role, allowed) in table {
            for c in Capability::ALL {
                assert_eq!(role.can(c), allowed.contains(&c), "{role:?} {c:?}");
            }
        }
    }

    #[test]
    fn separation_of_three_duties() {
        let three = [Role::Admin, Role::SecurityAdmin, Role::Auditor];
        for c in Capability::ALL {
            let holders = three.into_iter().filter(|r| r.can(c)).count();
            assert!(holders <= 1, "{c:?} is shared among the three system roles");
        }
        for r in three {
            assert!(!r.can(Capability::ReadPeople), "{r:?} must not read people");
            assert!(!r.is_staff());
        }
    }

    #[test]
    fn levels_and_staff() {
        assert_eq!(Role::Admin.expected_level(), Some(Level::City));
        assert_eq!(Role::CommunityStaff.expected_level(), Some(Level::Village));
        assert_eq!(Role::GridWorker.expected_level(), Some(Level::Grid));
        assert_eq!(Role::Volunteer.expected_level(), None);
        assert!(Role::GridWorker.is_staff());
        assert!(Role::DepartmentStaff.is_staff());
        assert!(!Role::Resident.is_staff());
    }
}
