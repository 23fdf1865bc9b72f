//! rampart-server (being written).
