//! rampart-services (being written).
