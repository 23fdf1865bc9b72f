//! rampart-protocol (being written).
