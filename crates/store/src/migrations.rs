//! Versioned schema migrations, embedded in the binary and run by `open`.
//!
//! Both backends have the same logical schema; each has its own SQL dialect file per
//! version under `migrations/{sqlite,postgres}/NNN_name.sql`. Applied versions are kept in
//! `schema_migrations (version, name, applied_at)`. A database that has a version this
//! binary does not know was migrated by a newer rampart: opening it fails.

/// One migration: its version, name and SQL.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "audit_append",
        sql: include_str!("../migrations/sqlite/002_audit_append.sql"),
    },
    Migration {
        version: 3,
        name: "audit_head",
        sql: include_str!("../migrations/sqlite/003_audit_head.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "audit_append",
        sql: include_str!("../migrations/postgres/002_audit_append.sql"),
    },
    Migration {
        version: 3,
        name: "audit_head",
        sql: include_str!("../migrations/postgres/003_audit_head.sql"),
    },
];

/// The table that records applied migrations (same text for both backends).
pub(crate) const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT   NOT NULL,
    applied_at TEXT   NOT NULL
)";

/// The migrations of `all` still to apply, given the versions already applied; an error if
/// the database knows a version that this binary does not.
pub(crate) fn pending<'a>(
    all: &'a [Migration],
    applied: &[i64],
) -> Result<Vec<&'a Migration>, crate::StoreError> {
    let known = all.last().map_or(0, |m| m.version);
    if let Some(&newest) = applied.iter().max()
        && newest > known
    {
        return Err(crate::StoreError::Migration {
            version: newest,
            message: format!(
                "the database is at schema version {newest}, this rampart knows up to {known}: \
                 run a newer rampart"
            ),
        });
    }
    Ok(all
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_increasing_and_match_between_backends() {
        for list in [SQLITE, POSTGRES] {
            assert!(list.windows(2).all(|w| w[0].version < w[1].version));
        }
        let names = |l: &[Migration]| l.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
    }

    #[test]
    fn a_newer_database_is_refused() {
        assert_eq!(pending(SQLITE, &[]).unwrap().len(), SQLITE.len());
        assert_eq!(pending(SQLITE, &[1]).unwrap().len(), SQLITE.len() - 1);
        assert!(pending(SQLITE, &[1, 2, 3]).unwrap().is_empty());
        assert!(matches!(
            pending(SQLITE, &[1, 99]),
            Err(crate::StoreError::Migration { version: 99, .. })
        ));
    }
}
