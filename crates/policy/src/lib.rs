//! rampart-policy (being written).
