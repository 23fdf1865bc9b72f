//! Policy benchmark support (being written).
