//! (filled in by its issue)

/// "Where the CPU goes" (owned by the profile room).
pub mod profile_section;
