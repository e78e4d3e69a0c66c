//! Satisfaction surveys (满意度调查): questionnaires, answers checked against them,
//! and the lifecycle 草稿 → 进行中 → 已结束 with an optional answering window.
//!
//! Questions are numbered from 1 ("q1", "q2", …); every error about a question
//! is filed under that key, so a form can show it next to the question. Options
//! of a choice question are numbered from 0.

use crate::validation::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const MIN_QUESTIONS: usize = 1;
pub const MAX_QUESTIONS: usize = 50;
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 10;
/// Longest survey or question title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest introduction, in characters.
pub const MAX_INTRO: usize = 1000;
/// Longest option text, in characters.
pub const MAX_OPTION: usize = 100;
/// Longest free-text answer, in characters.
pub const MAX_TEXT_ANSWER: usize = 1000;
pub const SCALE_MIN: u8 = 1;
pub const SCALE_MAX: u8 = 5;
/// What the ends of the 1–5 scale mean, as shown to residents.
pub const SCALE_LABELS: [&str; 5] = ["很不满意", "不满意", "一般", "满意", "很满意"];

/// The key errors about question `position` (from 1) are filed under: "q3".
pub fn key(position: usize) -> String {
    format!("q{position}")
}

/// The position a key like "q3" names.
pub fn position_of(key: &str) -> Option<usize> {
    let n = key.strip_prefix('q')?;
    if n.is_empty() || n.len() > 4 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok().filter(|p| *p >= 1)
}

/// Whether text holds markup: a `<` that opens a tag, comment or declaration,
/// or a character reference (`&lt;`, `&#60;`).
pub fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    let tag = b.windows(2).any(|w| {
        w.first() == Some(&b'<')
            && w.get(1)
                .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?'))
    });
    let entity = s.match_indices('&').any(|(i, _)| {
        let rest = s.get(i + 1..).unwrap_or("");
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
            .collect();
        !name.is_empty() && rest.get(name.len()..).is_some_and(|r| r.starts_with(';'))
    });
    tag || entity
}

/// Control characters other than line breaks and tabs.
fn has_controls(s: &str, multiline: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
}

/// What a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Exactly one option.
    Single,
    /// One or more distinct options, optionally at most `max_choices`.
    Multiple,
    /// A score from 1 (很不满意) to 5 (很满意).
    Scale,
    /// Free text, up to 1000 characters, no markup.
    Text,
}

impl QuestionKind {
    pub const ALL: [QuestionKind; 4] = [
        QuestionKind::Single,
        QuestionKind::Multiple,
        QuestionKind::Scale,
        QuestionKind::Text,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Single => "single",
            QuestionKind::Multiple => "multiple",
            QuestionKind::Scale => "scale",
            QuestionKind::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<QuestionKind> {
        QuestionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            QuestionKind::Single => "单选",
            QuestionKind::Multiple => "多选",
            QuestionKind::Scale => "1–5 分评分",
            QuestionKind::Text => "文字意见",
        }
    }

    /// Single and multiple choice.
    pub fn has_options(self) -> bool {
        matches!(self, QuestionKind::Single | QuestionKind::Multiple)
    }
}

/// One question of a questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub kind: QuestionKind,
    pub title: String,
    /// The options of a choice question (2–10); empty for scale and text.
    #[serde(default)]
    pub options: Vec<String>,
    pub required: bool,
    /// Multiple choice only: the most options one may pick.
    #[serde(default)]
    pub max_choices: Option<usize>,
}

/// A questionnaire: title, introduction and 1–50 questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Questionnaire {
    pub title: String,
    #[serde(default)]
    pub intro: String,
    pub questions: Vec<Question>,
}

fn check_line(s: &str, max: usize, what: &str) -> Result<(), (&'static str, String)> {
    let n = s.chars().count();
    if n == 0 {
        Err(("required", format!("{what}不能为空")))
    } else if n > max {
        Err(("too_long", format!("{what}不能超过 {max} 个字")))
    } else if has_controls(s, false) {
        Err(("bad_chars", format!("{what}中不能含有控制字符")))
    } else if looks_like_html(s) {
        Err(("markup", format!("{what}中不能含有 HTML 标记")))
    } else {
        Ok(())
    }
}

impl Question {
    /// The question trimmed, or why it is not acceptable (code, message).
    fn checked(&self) -> Result<Question, (&'static str, String)> {
        let title = self.title.trim();
        check_line(title, MAX_TITLE, "题目")?;
        let options: Vec<String> = self.options.iter().map(|o| o.trim().to_owned()).collect();
        if self.kind.has_options() {
            if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&options.len()) {
                return Err((
                    "bad_options",
                    format!("选择题应有 {MIN_OPTIONS}–{MAX_OPTIONS} 个选项"),
                ));
            }
            for o in &options {
                check_line(o, MAX_OPTION, "选项")?;
            }
            let distinct: BTreeSet<&String> = options.iter().collect();
            if distinct.len() != options.len() {
                return Err(("duplicate_option", "选项不能重复".into()));
            }
        } else if !options.is_empty() {
            return Err(("unexpected_options", "评分题和文字题不设选项".into()));
        }
        match (self.kind, self.max_choices) {
            (QuestionKind::Multiple, Some(m)) if m == 0 || m > options.len() => {
                return Err((
                    "bad_max_choices",
                    format!("最多可选项数应在 1 到 {} 之间", options.len()),
                ));
            }
            (QuestionKind::Multiple, _) | (_, None) => {}
            (_, Some(_)) => {
                return Err(("bad_max_choices", "只有多选题可以限定最多可选项数".into()));
            }
        }
        Ok(Question {
            kind: self.kind,
            title: title.to_owned(),
            options,
            required: self.required,
            max_choices: self.max_choices,
        })
    }
}

impl Questionnaire {
    /// Check the whole definition; on success the trimmed copy to store. Errors
    /// about question N are filed under "qN".
    pub fn validate(&self) -> Result<Questionnaire, FieldErrors> {
        let mut errs = FieldErrors::new();
        let title = self.title.trim();
        if let Err((code, msg)) = check_line(title, MAX_TITLE, "问卷标题") {
            errs.add("title", code, msg);
        }
        let intro = self.intro.trim();
        if intro.chars().count() > MAX_INTRO {
            errs.add(
                "intro",
                "too_long",
                format!("问卷说明不能超过 {MAX_INTRO} 个字"),
            );
        } else if has_controls(intro, true) {
            errs.add("intro", "bad_chars", "问卷说明中不能含有控制字符");
        } else if looks_like_html(intro) {
            errs.add("intro", "markup", "问卷说明中不能含有 HTML 标记");
        }
        let n = self.questions.len();
        if !(MIN_QUESTIONS..=MAX_QUESTIONS).contains(&n) {
            errs.add(
                "questions",
                "bad_question_count",
                format!("问卷应有 {MIN_QUESTIONS}–{MAX_QUESTIONS} 道题"),
            );
        }
        let mut questions = Vec::with_capacity(n);
        for (i, q) in self.questions.iter().enumerate() {
            match q.checked() {
                Ok(q) => questions.push(q),
                Err((code, msg)) => errs.add(&key(i + 1), code, format!("第 {} 题：{msg}", i + 1)),
            }
        }
        errs.into_result()?;
        Ok(Questionnaire {
            title: title.to_owned(),
            intro: intro.to_owned(),
            questions,
        })
    }

    /// The question at `position` (from 1).
    pub fn question(&self, position: usize) -> Option<&Question> {
        position.checked_sub(1).and_then(|i| self.questions.get(i))
    }
}

/// One answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The index (from 0) of the chosen option.
    Single(usize),
    /// The indexes (from 0) of the chosen options, ascending once checked.
    Multiple(Vec<usize>),
    /// A score 1–5.
    Scale(u8),
    Text(String),
}

impl Answer {
    pub fn kind(&self) -> QuestionKind {
        match self {
            Answer::Single(_) => QuestionKind::Single,
            Answer::Multiple(_) => QuestionKind::Multiple,
            Answer::Scale(_) => QuestionKind::Scale,
            Answer::Text(_) => QuestionKind::Text,
        }
    }

    /// The stored form: "2", "[0,3]", "4", or the text itself.
    pub fn to_stored(&self) -> String {
        match self {
            Answer::Single(i) => i.to_string(),
            Answer::Multiple(v) => format!(
                "[{}]",
                v.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
            ),
            Answer::Scale(s) => s.to_string(),
            Answer::Text(t) => t.clone(),
        }
    }

    /// Read a stored value back for a question of `kind`.
    pub fn from_stored(kind: QuestionKind, s: &str) -> Option<Answer> {
        match kind {
            QuestionKind::Single => s.parse().ok().map(Answer::Single),
            QuestionKind::Multiple => serde_json::from_str::<Vec<usize>>(s)
                .ok()
                .map(Answer::Multiple),
            QuestionKind::Scale => s.parse().ok().map(Answer::Scale),
            QuestionKind::Text => Some(Answer::Text(s.to_owned())),
        }
    }

    /// An answer from JSON for a question of `kind`: an option index, an array of
    /// option indexes, a score or a string. `null` means not answered.
    pub fn from_json(
        kind: QuestionKind,
        v: &serde_json::Value,
    ) -> Result<Option<Answer>, (&'static str, String)> {
        use serde_json::Value as J;
        let index = |v: &J| v.as_u64().and_then(|n| usize::try_from(n).ok());
        let wrong = |what: &str| Err(("wrong_type", format!("答案应为{what}")));
        match (kind, v) {
            (_, J::Null) => Ok(None),
            (QuestionKind::Single, v) => match index(v) {
                Some(i) => Ok(Some(Answer::Single(i))),
                None => wrong("一个选项序号（从 0 开始）"),
            },
            (QuestionKind::Multiple, J::Array(a)) => {
                let picked: Option<Vec<usize>> = a.iter().map(index).collect();
                match picked {
                    Some(p) => Ok(Some(Answer::Multiple(p))),
                    None => wrong("选项序号的数组（从 0 开始）"),
                }
            }
            (QuestionKind::Multiple, _) => wrong("选项序号的数组（从 0 开始）"),
            (QuestionKind::Scale, v) => match v.as_u64().and_then(|n| u8::try_from(n).ok()) {
                Some(s) => Ok(Some(Answer::Scale(s))),
                None if v.is_number() => Err(("bad_scale", "评分应为 1 到 5 分".into())),
                None => wrong("1 到 5 的整数"),
            },
            (QuestionKind::Text, J::String(s)) => Ok(Some(Answer::Text(s.clone()))),
            (QuestionKind::Text, _) => wrong("文字"),
        }
    }

    /// An answer from the values a form submitted for one question (radio,
    /// checkboxes, scale buttons, text area). Nothing submitted means not answered.
    pub fn from_form(
        kind: QuestionKind,
        values: &[&str],
    ) -> Result<Option<Answer>, (&'static str, String)> {
        let values: Vec<&str> = values.iter().map(|v| v.trim()).collect();
        let first = values.first().copied();
        let bad = |code, msg: &str| Err((code, msg.to_owned()));
        match kind {
            QuestionKind::Text => Ok(first.map(|t| Answer::Text(t.to_owned()))),
            _ if values.iter().all(|v| v.is_empty()) => Ok(None),
            QuestionKind::Single if values.len() > 1 => bad("too_many", "本题只能选一项"),
            QuestionKind::Single => match first.and_then(|v| v.parse().ok()) {
                Some(i) => Ok(Some(Answer::Single(i))),
                None => bad("bad_option", "所选选项不存在"),
            },
            QuestionKind::Multiple => {
                let picked: Option<Vec<usize>> = values.iter().map(|v| v.parse().ok()).collect();
                match picked {
                    Some(p) => Ok(Some(Answer::Multiple(p))),
                    None => bad("bad_option", "所选选项不存在"),
                }
            }
            QuestionKind::Scale if values.len() > 1 => bad("too_many", "本题只能选一个分数"),
            QuestionKind::Scale => match first.and_then(|v| v.parse().ok()) {
                Some(s) => Ok(Some(Answer::Scale(s))),
                None => bad("bad_scale", "评分应为 1 到 5 分"),
            },
        }
    }
}

/// Why one answer does not fit its question (code, message).
fn check_answer(q: &Question, a: &Answer) -> Result<Option<Answer>, (&'static str, String)> {
    let n = q.options.len();
    match (q.kind, a) {
        (QuestionKind::Single, Answer::Single(i)) if *i < n => Ok(Some(a.clone())),
        (QuestionKind::Single, Answer::Single(_)) => Err(("bad_option", "所选选项不存在".into())),
        (QuestionKind::Multiple, Answer::Multiple(v)) => {
            if v.is_empty() {
                return if q.required {
                    Err(("required", "本题为必答题，请至少选择一项".into()))
                } else {
                    Ok(None)
                };
            }
            if v.iter().any(|i| *i >= n) {
                return Err(("bad_option", "所选选项不存在".into()));
            }
            let distinct: BTreeSet<usize> = v.iter().copied().collect();
            if distinct.len() != v.len() {
                return Err(("duplicate_option", "同一选项不能重复选择".into()));
            }
            if let Some(m) = q.max_choices
                && v.len() > m
            {
                return Err(("too_many", format!("本题最多选择 {m} 项")));
            }
            Ok(Some(Answer::Multiple(distinct.into_iter().collect())))
        }
        (QuestionKind::Scale, Answer::Scale(s)) if (SCALE_MIN..=SCALE_MAX).contains(s) => {
            Ok(Some(a.clone()))
        }
        (QuestionKind::Scale, Answer::Scale(_)) => Err((
            "bad_scale",
            format!("评分应为 {SCALE_MIN} 到 {SCALE_MAX} 分"),
        )),
        (QuestionKind::Text, Answer::Text(t)) => {
            let t = t.trim();
            if t.is_empty() {
                return if q.required {
                    Err(("required", "本题为必答题，请填写".into()))
                } else {
                    Ok(None)
                };
            }
            if t.chars().count() > MAX_TEXT_ANSWER {
                Err((
                    "too_long",
                    format!("文字意见不能超过 {MAX_TEXT_ANSWER} 个字"),
                ))
            } else if has_controls(t, true) {
                Err(("bad_chars", "文字意见中不能含有控制字符".into()))
            } else if looks_like_html(t) {
                Err(("markup", "文字意见中不能含有 HTML 标记".into()))
            } else {
                Ok(Some(Answer::Text(t.to_owned())))
            }
        }
        _ => Err(("wrong_type", "答案类型与题型不符".into())),
    }
}

/// Check answers (by position, from 1) against a questionnaire. On success the
/// answers to store, in position order: texts trimmed, multiple choices sorted,
/// empty optional answers left out. Every error is filed under its question's key.
pub fn check_answers(
    q: &Questionnaire,
    answers: &BTreeMap<usize, Answer>,
) -> Result<Vec<(usize, Answer)>, FieldErrors> {
    let mut errs = FieldErrors::new();
    let mut out = Vec::new();
    for (&pos, _) in answers.range(..1) {
        errs.add(&key(pos), "unknown_question", "没有这道题");
    }
    for (pos, _) in answers.range(q.questions.len() + 1..) {
        errs.add(&key(*pos), "unknown_question", "没有这道题");
    }
    for (i, question) in q.questions.iter().enumerate() {
        let pos = i + 1;
        let result = match answers.get(&pos) {
            Some(a) => check_answer(question, a),
            None => Ok(None),
        };
        match result {
            Ok(Some(a)) => out.push((pos, a)),
            Ok(None) if question.required => {
                errs.add(&key(pos), "required", format!("第 {pos} 题为必答题"));
            }
            Ok(None) => {}
            Err((code, msg)) => errs.add(&key(pos), code, format!("第 {pos} 题：{msg}")),
        }
    }
    errs.into_result()?;
    Ok(out)
}

/// Read and check answers from a JSON object `{"q1": 0, "q2": [1, 3], "q3": 4, "q4": "…"}`.
pub fn answers_from_json(
    q: &Questionnaire,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(usize, Answer)>, FieldErrors> {
    let mut errs = FieldErrors::new();
    let mut answers = BTreeMap::new();
    for (k, v) in obj {
        let Some(pos) = position_of(k) else {
            errs.add(k, "unknown_question", "没有这道题");
            continue;
        };
        let Some(question) = q.question(pos) else {
            errs.add(k, "unknown_question", "没有这道题");
            continue;
        };
        match Answer::from_json(question.kind, v) {
            Ok(Some(a)) => {
                answers.insert(pos, a);
            }
            Ok(None) => {}
            Err((code, msg)) => errs.add(k, code, format!("第 {pos} 题：{msg}")),
        }
    }
    merge(q, &answers, errs)
}

/// Read and check answers from form fields named "q1", "q2", … (a field repeated
/// for checkboxes). Other fields are ignored.
pub fn answers_from_form(
    q: &Questionnaire,
    pairs: &[(String, String)],
) -> Result<Vec<(usize, Answer)>, FieldErrors> {
    let mut by_pos: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(pos) = position_of(k) {
            by_pos.entry(pos).or_default().push(v.as_str());
        }
    }
    let mut errs = FieldErrors::new();
    let mut answers = BTreeMap::new();
    for (pos, values) in by_pos {
        let Some(question) = q.question(pos) else {
            errs.add(&key(pos), "unknown_question", "没有这道题");
            continue;
        };
        match Answer::from_form(question.kind, &values) {
            Ok(Some(a)) => {
                answers.insert(pos, a);
            }
            Ok(None) => {}
            Err((code, msg)) => errs.add(&key(pos), code, format!("第 {pos} 题：{msg}")),
        }
    }
    merge(q, &answers, errs)
}

/// Check what parsed; a question that failed to parse is not checked again.
fn merge(
    q: &Questionnaire,
    answers: &BTreeMap<usize, Answer>,
    mut errs: FieldErrors,
) -> Result<Vec<(usize, Answer)>, FieldErrors> {
    match check_answers(q, answers) {
        Ok(out) if errs.is_empty() => Ok(out),
        Ok(_) => Err(errs),
        Err(more) => {
            let seen: BTreeSet<String> = errs.0.iter().map(|e| e.field.clone()).collect();
            errs.0
                .extend(more.0.into_iter().filter(|e| !seen.contains(&e.field)));
            Err(errs)
        }
    }
}

/// Where a survey stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyState {
    /// 草稿: being built; can be changed; takes no answers.
    Draft,
    /// 进行中: takes answers (within its window); can no longer be changed.
    Open,
    /// 已结束: takes no more answers (final).
    Closed,
}

/// What can happen to a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SurveyAction {
    Open,
    Close,
}

impl SurveyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            SurveyAction::Open => "open",
            SurveyAction::Close => "close",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SurveyAction::Open => "发布",
            SurveyAction::Close => "结束",
        }
    }
}

impl SurveyState {
    pub const ALL: [SurveyState; 3] = [SurveyState::Draft, SurveyState::Open, SurveyState::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            SurveyState::Draft => "draft",
            SurveyState::Open => "open",
            SurveyState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<SurveyState> {
        SurveyState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            SurveyState::Draft => "草稿",
            SurveyState::Open => "进行中",
            SurveyState::Closed => "已结束",
        }
    }

    /// Only drafts can be changed.
    pub fn editable(self) -> bool {
        self == SurveyState::Draft
    }

    /// The state after `action`: draft → open → closed, nothing else.
    pub fn apply(self, action: SurveyAction) -> Result<SurveyState, SurveyRefusal> {
        match (self, action) {
            (SurveyState::Draft, SurveyAction::Open) => Ok(SurveyState::Open),
            (SurveyState::Open, SurveyAction::Close) => Ok(SurveyState::Closed),
            (s, a) => Err(SurveyRefusal::IllegalTransition(s.label(), a.label())),
        }
    }
}

/// The optional answering window `[starts_at, ends_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Window {
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

impl Window {
    /// The end must come after the start.
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at)
            && e <= s
        {
            errs.add("ends_at", "bad_window", "结束时间应晚于开始时间");
        }
        errs.into_result()
    }

    /// Whether `now` lies in the window (a missing bound is no bound).
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        self.starts_at.is_none_or(|s| now >= s) && self.ends_at.is_none_or(|e| now < e)
    }
}

/// Why a survey refuses an action or an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurveyRefusal {
    #[error("问卷当前为“{0}”，不能“{1}”")]
    IllegalTransition(&'static str, &'static str),
    #[error("问卷尚未发布，暂不接受填写")]
    Draft,
    #[error("问卷已结束，感谢关注")]
    Closed,
    #[error("问卷尚未开始填写")]
    NotStarted,
    #[error("问卷填写时间已过")]
    Ended,
}

impl SurveyRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            SurveyRefusal::IllegalTransition(..) => "illegal_transition",
            SurveyRefusal::Draft => "survey_not_open",
            SurveyRefusal::Closed => "survey_closed",
            SurveyRefusal::NotStarted => "survey_not_started",
            SurveyRefusal::Ended => "survey_ended",
        }
    }
}

/// Whether a survey in `state` with `window` takes answers at `now`.
pub fn accepts_answers(
    state: SurveyState,
    window: &Window,
    now: DateTime<Utc>,
) -> Result<(), SurveyRefusal> {
    match state {
        SurveyState::Draft => Err(SurveyRefusal::Draft),
        SurveyState::Closed => Err(SurveyRefusal::Closed),
        SurveyState::Open if window.starts_at.is_some_and(|s| now < s) => {
            Err(SurveyRefusal::NotStarted)
        }
        SurveyState::Open if window.ends_at.is_some_and(|e| now >= e) => Err(SurveyRefusal::Ended),
        SurveyState::Open => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn q(kind: QuestionKind, options: &[&str], required: bool) -> Question {
        Question {
            kind,
            title: "您对社区服务满意吗".into(),
            options: options.iter().map(|s| (*s).to_owned()).collect(),
            required,
            max_choices: None,
        }
    }

    fn sample() -> Questionnaire {
        let mut multi = q(
            QuestionKind::Multiple,
            &["养老", "托育", "文化", "就业"],
            true,
        );
        multi.max_choices = Some(2);
        Questionnaire {
            title: "2025 年社区服务满意度调查".into(),
            intro: "请根据实际感受填写。".into(),
            questions: vec![
                q(QuestionKind::Single, &["是", "否"], true),
                multi,
                q(QuestionKind::Scale, &[], true),
                q(QuestionKind::Text, &[], false),
            ],
        }
    }

    fn codes(e: &FieldErrors) -> Vec<(String, &'static str)> {
        e.0.iter().map(|e| (e.field.clone(), e.code)).collect()
    }

    #[test]
    fn definitions_are_checked() {
        assert!(sample().validate().is_ok());
        let mut bad = sample();
        bad.title = " ".into();
        bad.questions[0].options = vec!["只有一个".into()];
        bad.questions[1].max_choices = Some(5);
        bad.questions[2].options = vec!["x".into(), "y".into()];
        bad.questions[3].title = "<b>意见</b>".into();
        let e = bad.validate().unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("title".into(), "required"),
                ("q1".into(), "bad_options"),
                ("q2".into(), "bad_max_choices"),
                ("q3".into(), "unexpected_options"),
                ("q4".into(), "markup"),
            ]
        );
        let mut many = sample();
        many.questions = vec![q(QuestionKind::Scale, &[], true); 51];
        assert_eq!(
            codes(&many.validate().unwrap_err()),
            vec![("questions".into(), "bad_question_count")]
        );
        many.questions.clear();
        assert!(many.validate().is_err());
        let mut dup = sample();
        dup.questions[0].options = vec!["是".into(), " 是".into()];
        assert_eq!(
            codes(&dup.validate().unwrap_err()),
            vec![("q1".into(), "duplicate_option")]
        );
        let mut long = sample();
        long.questions[0].title = "题".repeat(201);
        long.questions[0].options = (0..11).map(|i| i.to_string()).collect();
        assert_eq!(
            codes(&long.validate().unwrap_err()),
            vec![("q1".into(), "too_long")]
        );
        let mut single_max = sample();
        single_max.questions[0].max_choices = Some(1);
        assert!(single_max.validate().is_err());
        let trimmed = Questionnaire {
            title: "  标题  ".into(),
            ..sample()
        }
        .validate()
        .unwrap();
        assert_eq!(trimmed.title, "标题");
    }

    #[test]
    fn markup_detection() {
        for s in ["<b>", "a</p>", "<!-- x", "&lt;", "&#60;", "x <script"] {
            assert!(looks_like_html(s), "{s}");
        }
        for s in ["1 < 2", "温度<10度", "A & B", "3>2", "&", "&;"] {
            assert!(!looks_like_html(s), "{s}");
        }
    }

    #[test]
    fn answers_are_checked_and_normalised() {
        let s = sample();
        let mut a = BTreeMap::new();
        a.insert(1, Answer::Single(1));
        a.insert(2, Answer::Multiple(vec![3, 0]));
        a.insert(3, Answer::Scale(4));
        a.insert(4, Answer::Text("  路灯坏了  ".into()));
        let ok = check_answers(&s, &a).unwrap();
        assert_eq!(
            ok,
            vec![
                (1, Answer::Single(1)),
                (2, Answer::Multiple(vec![0, 3])),
                (3, Answer::Scale(4)),
                (4, Answer::Text("路灯坏了".into())),
            ]
        );
        // Optional text left empty is dropped.
        a.insert(4, Answer::Text("   ".into()));
        assert_eq!(check_answers(&s, &a).unwrap().len(), 3);

        let mut bad = BTreeMap::new();
        bad.insert(1, Answer::Single(2));
        bad.insert(2, Answer::Multiple(vec![0, 1, 2]));
        bad.insert(4, Answer::Scale(3));
        bad.insert(9, Answer::Single(0));
        let e = check_answers(&s, &bad).unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("q9".into(), "unknown_question"),
                ("q1".into(), "bad_option"),
                ("q2".into(), "too_many"),
                ("q3".into(), "required"),
                ("q4".into(), "wrong_type"),
            ]
        );
    }

    #[test]
    fn answers_from_forms_and_json() {
        let s = sample();
        let pairs: Vec<(String, String)> = [
            ("csrf", "x"),
            ("q1", "0"),
            ("q2", "1"),
            ("q2", "2"),
            ("q3", "5"),
            ("q4", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let ok = answers_from_form(&s, &pairs).unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[1], (2, Answer::Multiple(vec![1, 2])));

        let bad: Vec<(String, String)> = [("q1", "0"), ("q1", "1"), ("q3", "x"), ("q7", "1")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let e = answers_from_form(&s, &bad).unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("q1".into(), "too_many"),
                ("q3".into(), "bad_scale"),
                ("q7".into(), "unknown_question"),
                ("q2".into(), "required"),
            ]
        );

        let obj = serde_json::json!({"q1": 1, "q2": [0], "q3": 3, "q4": null});
        let ok = answers_from_json(&s, obj.as_object().unwrap()).unwrap();
        assert_eq!(ok.len(), 3);
        let obj = serde_json::json!({"q1": "是", "q2": 1, "q3": 9, "x": 1});
        let e = answers_from_json(&s, obj.as_object().unwrap()).unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("q1".into(), "wrong_type"),
                ("q2".into(), "wrong_type"),
                ("x".into(), "unknown_question"),
                ("q3".into(), "bad_scale"),
            ]
        );
    }

    #[test]
    fn stored_values_round_trip() {
        for (kind, a) in [
            (QuestionKind::Single, Answer::Single(3)),
            (QuestionKind::Multiple, Answer::Multiple(vec![0, 2, 9])),
            (QuestionKind::Scale, Answer::Scale(5)),
            (QuestionKind::Text, Answer::Text("[1,2] 不是 JSON".into())),
        ] {
            assert_eq!(Answer::from_stored(kind, &a.to_stored()), Some(a));
        }
        assert_eq!(Answer::from_stored(QuestionKind::Multiple, "x"), None);
    }

    #[test]
    fn lifecycle_and_window() {
        use SurveyAction as A;
        use SurveyState::{Closed, Draft};
        assert_eq!(Draft.apply(A::Open), Ok(SurveyState::Open));
        assert_eq!(SurveyState::Open.apply(A::Close), Ok(Closed));
        for (s, a) in [
            (Draft, A::Close),
            (SurveyState::Open, A::Open),
            (Closed, A::Open),
            (Closed, A::Close),
        ] {
            assert_eq!(s.apply(a).unwrap_err().code(), "illegal_transition");
        }
        let t = |d| Utc.with_ymd_and_hms(2025, 6, d, 0, 0, 0).unwrap();
        let w = Window {
            starts_at: Some(t(10)),
            ends_at: Some(t(20)),
        };
        assert!(w.check().is_ok());
        assert!(
            Window {
                starts_at: Some(t(20)),
                ends_at: Some(t(20))
            }
            .check()
            .is_err()
        );
        assert_eq!(accepts_answers(SurveyState::Open, &w, t(15)), Ok(()));
        assert_eq!(
            accepts_answers(SurveyState::Open, &w, t(9)),
            Err(SurveyRefusal::NotStarted)
        );
        assert_eq!(
            accepts_answers(SurveyState::Open, &w, t(20)),
            Err(SurveyRefusal::Ended)
        );
        assert_eq!(accepts_answers(Draft, &w, t(15)), Err(SurveyRefusal::Draft));
        assert_eq!(
            accepts_answers(Closed, &w, t(15)),
            Err(SurveyRefusal::Closed)
        );
        assert_eq!(
            accepts_answers(SurveyState::Open, &Window::default(), t(1)),
            Ok(())
        );
        assert_eq!(position_of("q12"), Some(12));
        assert_eq!(position_of("q0"), None);
        assert_eq!(position_of("q"), None);
        assert_eq!(position_of("qx"), None);
    }

    fn any_question() -> impl Strategy<Value = Question> {
        (
            0usize..4,
            "[a-z一二三四]{1,12}",
            2usize..=10,
            any::<bool>(),
            proptest::option::of(1usize..=10),
        )
            .prop_map(|(k, title, n, required, max)| {
                let kind = QuestionKind::ALL[k];
                let options = if kind.has_options() {
                    (0..n).map(|i| format!("选项{i}")).collect()
                } else {
                    Vec::new()
                };
                let max_choices = match kind {
                    QuestionKind::Multiple => max.map(|m| m.min(n)),
                    _ => None,
                };
                Question {
                    kind,
                    title,
                    options,
                    required,
                    max_choices,
                }
            })
    }

    /// A valid answer to `q` from random material; `None` when leaving it out.
    fn answer_for(q: &Question, pick: &[u8], skip: bool, text: &str) -> Option<Answer> {
        if skip && !q.required {
            return None;
        }
        let n = q.options.len().max(1);
        let first = usize::from(pick.first().copied().unwrap_or(0));
        Some(match q.kind {
            QuestionKind::Single => Answer::Single(first % n),
            QuestionKind::Multiple => {
                let mut chosen: Vec<usize> = pick.iter().map(|p| usize::from(*p) % n).collect();
                chosen.sort_unstable();
                chosen.dedup();
                chosen.truncate(q.max_choices.unwrap_or(n));
                if chosen.is_empty() {
                    chosen.push(first % n);
                }
                chosen.reverse();
                Answer::Multiple(chosen)
            }
            QuestionKind::Scale => Answer::Scale(1 + (pick.first().copied().unwrap_or(0) % 5)),
            QuestionKind::Text => Answer::Text(format!("意见{text}")),
        })
    }

    fn setup() -> impl Strategy<Value = (Questionnaire, BTreeMap<usize, Answer>, usize, u8)> {
        proptest::collection::vec(any_question(), 1..=12).prop_flat_map(|questions| {
            let n = questions.len();
            (
                Just(questions),
                proptest::collection::vec(
                    (
                        proptest::collection::vec(any::<u8>(), 1..5),
                        any::<bool>(),
                        "[a-z ]{0,30}",
                    ),
                    n,
                ),
                0..n,
                any::<u8>(),
            )
                .prop_map(|(questions, material, target, how)| {
                    let qn = Questionnaire {
                        title: "调查".into(),
                        intro: String::new(),
                        questions,
                    };
                    let answers = qn
                        .questions
                        .iter()
                        .zip(&material)
                        .enumerate()
                        .filter_map(|(i, (q, (pick, skip, text)))| {
                            answer_for(q, pick, *skip, text).map(|a| (i + 1, a))
                        })
                        .collect();
                    (qn, answers, target + 1, how)
                })
        })
    }

    /// Break the answer to question `pos` in one of several ways; returns the key
    /// the error must be filed under.
    fn corrupt(
        qn: &Questionnaire,
        answers: &mut BTreeMap<usize, Answer>,
        pos: usize,
        how: u8,
    ) -> String {
        let Some(q) = qn.question(pos) else {
            return key(pos);
        };
        let n = q.options.len();
        let way = how % 6;
        let broken = match (q.kind, way) {
            (_, 0) if q.required => {
                answers.remove(&pos);
                return key(pos);
            }
            (_, 1) => {
                let extra = qn.questions.len() + 1 + usize::from(how % 3);
                answers.insert(extra, Answer::Single(0));
                return key(extra);
            }
            (QuestionKind::Single, 2) => Answer::Single(n + usize::from(how)),
            (QuestionKind::Multiple, 2) => Answer::Multiple(vec![]),
            (QuestionKind::Multiple, 3) => Answer::Multiple(vec![0, 0]),
            (QuestionKind::Multiple, 4) => Answer::Multiple(vec![n]),
            (QuestionKind::Scale, 2 | 3) => Answer::Scale(if how.is_multiple_of(2) {
                0
            } else {
                6 + how / 2
            }),
            (QuestionKind::Text, 2) => Answer::Text("长".repeat(MAX_TEXT_ANSWER + 1)),
            (QuestionKind::Text, 3) => Answer::Text("<script>alert(1)</script>".into()),
            (QuestionKind::Text, _) => Answer::Scale(3),
            (_, _) => Answer::Text("文字".into()),
        };
        if matches!(broken, Answer::Multiple(ref v) if v.is_empty()) && !q.required {
            // An empty optional multiple choice is "not answered", which is valid.
            answers.insert(pos, Answer::Multiple(vec![n]));
        } else {
            answers.insert(pos, broken);
        }
        key(pos)
    }

    proptest! {
        #[test]
        fn valid_answers_pass_and_any_corruption_is_refused((qn, answers, target, how) in setup()) {
            let checked = qn.validate();
            prop_assert!(checked.is_ok(), "{:?}", checked);
            let ok = check_answers(&qn, &answers);
            prop_assert!(ok.is_ok(), "{:?}", ok);
            // What is stored reads back to the same answers.
            for (pos, a) in ok.unwrap_or_default() {
                let kind = qn.questions[pos - 1].kind;
                prop_assert_eq!(Answer::from_stored(kind, &a.to_stored()), Some(a));
            }
            let mut broken = answers.clone();
            let k = corrupt(&qn, &mut broken, target, how);
            let e = check_answers(&qn, &broken);
            prop_assert!(e.is_err(), "accepted a corrupted answer at {}", k);
            let e = e.unwrap_err();
            prop_assert!(e.0.iter().any(|f| f.field == k), "no error under {}: {:?}", k, e);
        }
    }
}
