//! 康复辅具租赁: aid condition and loan states.
