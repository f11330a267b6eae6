//! A Slack-compatible incoming webhook: `text` (the fallback notifications and
//! screen readers use) plus `blocks` — a header (at most 150 characters), the
//! summary, who is affected with their ETAs, what to do, the notes, a context line
//! with the dedupe key. At most 50 blocks; long customer lists are cut with a count.
//! A route to contacts adds `channel` (honoured by Mattermost and legacy Slack
//! webhooks; a Slack app's webhook posts to its own channel).

use serde_json::{Value, json};

use super::message::{Message, truncate};

/// Slack's limits.
pub const HEADER_MAX: usize = 150;
pub const BLOCKS_MAX: usize = 50;
pub const SECTION_MAX: usize = 3000;
/// Customers per section block, and at most this many sections of them.
const PER_SECTION: usize = 20;
const CUSTOMER_SECTIONS: usize = 10;

pub fn payload(m: &Message, contact: Option<&str>) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    blocks.push(json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&m.title, HEADER_MAX), "emoji": false}
    }));
    blocks.push(section(&escape(&m.text)));
    if !m.customers.is_empty() {
        let lines: Vec<String> = m
            .customers
            .iter()
            .map(|c| {
                let mut l = format!("• *{}* ({})", escape(&c.name), escape(&c.tier));
                match (&c.eta_local, c.eta) {
                    (Some(local), _) => l.push_str(&format!(" — {}", escape(local))),
                    (None, Some(eta)) => {
                        l.push_str(&format!(" — {}", eta.format("%a %d %b %H:%M UTC")))
                    }
                    _ => {}
                }
                l
            })
            .collect();
        let shown = PER_SECTION * CUSTOMER_SECTIONS;
        for chunk in lines.chunks(PER_SECTION).take(CUSTOMER_SECTIONS) {
            blocks.push(section(&chunk.join("\n")));
        }
        if lines.len() > shown {
            blocks.push(section(&format!(
                "… and {} more customers",
                lines.len() - shown
            )));
        }
    }
    blocks.push(section(&format!("*What to do:* {}", escape(&m.what_to_do))));
    if let Some(notes) = m.notes_slack.as_ref().or(m.notes.as_ref()) {
        blocks.push(json!({"type": "divider"}));
        for chunk in chunks(notes, SECTION_MAX - 10).into_iter().take(10) {
            blocks.push(section(&chunk));
        }
    }
    let mut context =
        vec![json!({"type": "mrkdwn", "text": format!("dedupe key `{}`", m.dedupe_key)})];
    if let Some(link) = &m.link {
        context.push(json!({"type": "mrkdwn", "text": format!("<{link}|details>")}));
    }
    blocks.push(json!({"type": "context", "elements": context}));
    if blocks.len() > BLOCKS_MAX {
        let context = blocks.pop();
        blocks.truncate(BLOCKS_MAX - 1);
        blocks.extend(context);
    }
    let mut body = json!({
        "text": format!("{}: {}", m.title, m.text),
        "blocks": blocks,
    });
    if let Some(channel) = contact {
        body["channel"] = json!(channel);
    }
    body
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_MAX)}})
}

/// Slack's three escapes for text that is not markup.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Splits text at line ends into pieces of at most `max` characters.
fn chunks(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if cur.chars().count() + line.chars().count() + 1 > max && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push_str(&truncate(line, max));
        cur.push('\n');
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}
