//! 时间银行: the double-entry hour ledger and its rules.
