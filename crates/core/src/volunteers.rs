//! Volunteers (志愿者): volunteer numbers, activities, sign-ups and the hours rules.
