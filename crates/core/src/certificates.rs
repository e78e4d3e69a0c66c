//! 志愿服务记录证明: certificate numbers and contents.
