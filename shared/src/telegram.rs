//! PLACEHOLDER while the real classifier is written (replaced by helper).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub update_id: i64,
    pub kind: String,
    pub chat_id: Option<i64>,
    pub user_id: Option<i64>,
    pub is_command: bool,
}
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClassifyError {
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("update_id is missing")]
    MissingUpdateId,
    #[error("update_id is not a 64-bit integer")]
    BadUpdateId,
}
pub fn classify(body: &[u8]) -> Result<Classified, ClassifyError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| ClassifyError::InvalidJson(e.to_string()))?;
    let o = v.as_object().ok_or(ClassifyError::NotObject)?;
    let id = o.get("update_id").ok_or(ClassifyError::MissingUpdateId)?.as_i64().ok_or(ClassifyError::BadUpdateId)?;
    let kind = o.keys().find(|k| *k != "update_id").cloned().unwrap_or_else(|| "unknown".into());
    let inner = &o[&kind];
    let chat_id = inner.pointer("/chat/id").and_then(|v| v.as_i64());
    let user_id = inner.pointer("/from/id").and_then(|v| v.as_i64());
    let is_command = inner.get("text").and_then(|t| t.as_str()).is_some_and(|t| t.starts_with('/'));
    Ok(Classified { update_id: id, kind, chat_id, user_id, is_command })
}
