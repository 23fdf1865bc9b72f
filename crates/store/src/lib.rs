//! rampart-store (being written).
