//! The XML of the alerts: CAP 1.2 per event, Atom feeds of events.

use std::fmt::Write;

use super::Notice;
use crate::base_url::BaseUrl;

/// Escapes text for XML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not XML; nothing of ours carries them on purpose.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// CAP's sender: `ALLMENDE_CAP_SENDER`, else `allmende@<host of the base URL>`. CAP forbids
/// spaces, commas and `<` `&` in it.
pub fn sender(base: &BaseUrl) -> String {
    let raw = std::env::var("ALLMENDE_CAP_SENDER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            let host = base
                .0
                .split("://")
                .nth(1)
                .unwrap_or(&base.0)
                .split('/')
                .next()
                .unwrap_or("localhost");
            format!("allmende@{host}")
        });
    raw.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ',' | '<' | '&'))
        .collect()
}

/// The CAP identifier of an event: unique per sender.
pub fn identifier(notice: &Notice) -> String {
    format!("allmende-{}-event-{}", notice.dataset, notice.id)
}

/// CAP times: seconds and a numeric zone (`Z` is not allowed).
fn cap_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00+00:00".into())
}

/// (urgency, severity, certainty) for reaching `level` (0 = the warning is over). The value
/// was measured, so the certainty is Observed.
fn grading(level: u8) -> (&'static str, &'static str, &'static str) {
    match level {
        0 => ("Past", "Minor", "Observed"),
        1 => ("Expected", "Minor", "Observed"),
        2 => ("Immediate", "Moderate", "Observed"),
        3 => ("Immediate", "Severe", "Observed"),
        _ => ("Immediate", "Extreme", "Observed"),
    }
}

fn level_text(name: &Option<String>, level: u8) -> String {
    match (name, level) {
        (_, 0) => "keine Warnstufe".to_owned(),
        (Some(name), _) => name.clone(),
        (None, n) => format!("Stufe {n}"),
    }
}

fn value_text(notice: &Notice) -> String {
    match &notice.unit {
        Some(unit) => format!("{} {unit}", notice.value),
        None => notice.value.to_string(),
    }
}

/// One event as a CAP 1.2 alert; `previous` is the station's event before it, which an
/// Update or Cancel references.
pub fn alert(base: &BaseUrl, notice: &Notice, previous: Option<&Notice>) -> String {
    let sender = sender(base);
    let (urgency, severity, certainty) = grading(notice.to);
    let to = level_text(&notice.to_name, notice.to);
    let from = level_text(&notice.from_name, notice.from);
    let event = if notice.to == 0 {
        "Hochwasserwarnung aufgehoben".to_owned()
    } else {
        format!("Hochwasser: {to}")
    };
    let headline = format!("Pegel {}: {from} → {to}", notice.name);
    let description = format!(
        "Der Pegel {} meldet {} um {}; die Warnstufe wechselt von {from} zu {to}.",
        notice.name,
        value_text(notice),
        notice.time
    );
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n");
    let _ = writeln!(x, "  <identifier>{}</identifier>", esc(&identifier(notice)));
    let _ = writeln!(x, "  <sender>{}</sender>", esc(&sender));
    let _ = writeln!(x, "  <sent>{}</sent>", cap_time(&notice.recorded));
    x.push_str("  <status>Actual</status>\n");
    let _ = writeln!(x, "  <msgType>{}</msgType>", notice.msg_type);
    x.push_str("  <scope>Public</scope>\n");
    if notice.msg_type != "Alert"
        && let Some(previous) = previous
    {
        let _ = writeln!(
            x,
            "  <references>{},{},{}</references>",
            esc(&sender),
            esc(&identifier(previous)),
            cap_time(&previous.recorded)
        );
    }
    x.push_str("  <info>\n");
    x.push_str("    <language>de-DE</language>\n");
    x.push_str("    <category>Met</category>\n");
    let _ = writeln!(x, "    <event>{}</event>", esc(&event));
    let _ = writeln!(x, "    <urgency>{urgency}</urgency>");
    let _ = writeln!(x, "    <severity>{severity}</severity>");
    let _ = writeln!(x, "    <certainty>{certainty}</certainty>");
    let _ = writeln!(x, "    <onset>{}</onset>", cap_time(&notice.time));
    x.push_str("    <senderName>Allmende</senderName>\n");
    let _ = writeln!(x, "    <headline>{}</headline>", esc(&headline));
    let _ = writeln!(x, "    <description>{}</description>", esc(&description));
    let _ = writeln!(
        x,
        "    <web>{}</web>",
        esc(&base.join(&format!("/api/datasets/{}", notice.dataset)))
    );
    for (name, value) in [
        ("station", notice.station.clone()),
        ("parameter", notice.parameter.clone()),
        ("value", notice.value.to_string()),
        ("unit", notice.unit.clone().unwrap_or_default()),
        ("time", notice.time.clone()),
        ("fromLevel", notice.from.to_string()),
        ("toLevel", notice.to.to_string()),
    ] {
        let _ = writeln!(
            x,
            "    <parameter>\n      <valueName>{name}</valueName>\n      <value>{}</value>\n    </parameter>",
            esc(&value)
        );
    }
    x.push_str("    <area>\n");
    let _ = writeln!(
        x,
        "      <areaDesc>{}</areaDesc>",
        esc(&format!("Pegel {}", notice.name))
    );
    if let (Some(lon), Some(lat)) = (notice.lon, notice.lat) {
        // CAP circles are "lat,lon radius-in-km"; the gauge is a point.
        let _ = writeln!(x, "      <circle>{lat},{lon} 0</circle>");
    }
    x.push_str("    </area>\n  </info>\n</alert>\n");
    x
}

/// An Atom feed of `notices` (newest first), each entry linking its CAP alert.
pub fn feed(base: &BaseUrl, path: &str, title: &str, notices: &[Notice]) -> String {
    let updated = notices
        .first()
        .map_or_else(|| "1970-01-01T00:00:00Z".to_owned(), |n| n.recorded.clone());
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(x, "  <id>{}</id>", esc(&base.join(path)));
    let _ = writeln!(x, "  <title>{}</title>", esc(title));
    let _ = writeln!(x, "  <updated>{updated}</updated>");
    let _ = writeln!(
        x,
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        esc(&base.join(path))
    );
    x.push_str("  <author><name>Allmende</name></author>\n");
    for n in notices {
        let cap = base.join(&n.cap);
        let to = level_text(&n.to_name, n.to);
        let from = level_text(&n.from_name, n.from);
        x.push_str("  <entry>\n");
        let _ = writeln!(x, "    <id>{}</id>", esc(&cap));
        let _ = writeln!(
            x,
            "    <title>{}</title>",
            esc(&format!("Pegel {}: {from} → {to}", n.name))
        );
        let _ = writeln!(x, "    <updated>{}</updated>", n.recorded);
        let _ = writeln!(x, "    <published>{}</published>", n.recorded);
        let _ = writeln!(
            x,
            "    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"{}\"/>",
            esc(&cap)
        );
        let _ = writeln!(
            x,
            "    <category term=\"{}\"/>",
            esc(&n.msg_type.to_lowercase())
        );
        let _ = writeln!(
            x,
            "    <summary>{}</summary>",
            esc(&format!(
                "{} ({}) um {}: {from} → {to}",
                n.name,
                value_text(n),
                n.time
            ))
        );
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}
